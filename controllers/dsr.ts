/**
 * Direct server return (kube-router.io/service.dsr=tunnel): the firewall mark of each DSR
 * virtual address. The director marks packets for (IP, protocol, port) in mangle and IPVS
 * balances the mark, so the external IP need not be a local address (docs/dsr.md). Pure.
 */

/** kube-router keeps marks to 14 bits (0x3FFF); other bits stay free for other users of the mark. */
const MARK_MASK = 0x3fff;

/** FNV-1a, 32 bits, over the UTF-16 code units of ASCII text (the keys are ASCII). */
function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The text kube-router hashes for one virtual address: "IP-protocol-port", then "-1", "-2", ... on a collision. */
export const markText = (ip: string, protocol: string, port: number, increment = 0): string =>
  `${ip}-${protocol}-${port}${increment ? `-${increment}` : ''}`;

/**
 * A unique, non-zero mark per "IP-protocol-port" key, as kube-router derives them: the hash of
 * the key, and on a collision (or 0, which is no mark) the hash of the key with an increment.
 * Keys are taken in byte order, so the same set of services gives the same marks on every run.
 */
export function dsrMarks(keys: readonly { ip: string; protocol: string; port: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  const taken = new Set<number>();
  const sorted = [...new Map(keys.map((k) => [markText(k.ip, k.protocol, k.port), k])).entries()].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  for (const [text, k] of sorted) {
    for (let inc = 0; inc <= MARK_MASK; inc++) {
      const mark = fnv1a32(markText(k.ip, k.protocol, k.port, inc)) & MARK_MASK;
      if (mark === 0 || taken.has(mark)) continue;
      taken.add(mark);
      out.set(text, mark);
      break;
    }
  }
  return out;
}

/** Marks of DSR services are in this range; IPVS firewall-mark services in it are the proxy's. */
export const isDsrMark = (mark: number): boolean => mark > 0 && mark <= MARK_MASK;
