/**
 * Address ranges: a prefix minus other prefixes as the inclusive ranges left, which is how an
 * nftables interval set holds a CIDR block with exceptions (ipset says "nomatch" instead).
 */
import { addressBits, formatIp, ipFamily, parseIp, type IpFamily } from './address';

const toBig = (ip: string): bigint => parseIp(ip).reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);

function fromBig(n: bigint, family: IpFamily): string {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--, n >>= 8n) bytes[i] = Number(n & 0xffn);
  return formatIp(bytes);
}

/** A prefix's first and last address. */
function bounds(prefix: string): [bigint, bigint] {
  const [addr, len] = prefix.split('/') as [string, string | undefined];
  const bits = BigInt(addressBits(ipFamily(addr)));
  const host = bits - BigInt(len ?? bits);
  const first = (toBig(addr) >> host) << host;
  return [first, first + (1n << host) - 1n];
}

/** `prefix` without the addresses of `minus`, as "first-last" ranges (or one address), in order. */
export function prefixMinus(prefix: string, minus: readonly string[]): string[] {
  const family = ipFamily(prefix.split('/')[0]!);
  let left: [bigint, bigint][] = [bounds(prefix)];
  for (const m of minus.map(bounds).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    left = left.flatMap(([a, b]): [bigint, bigint][] => {
      if (m[1] < a || m[0] > b) return [[a, b]];
      return [...(m[0] > a ? [[a, m[0] - 1n] as [bigint, bigint]] : []), ...(m[1] < b ? [[m[1] + 1n, b] as [bigint, bigint]] : [])];
    });
  }
  return left.map(([a, b]) => (a === b ? fromBig(a, family) : `${fromBig(a, family)}-${fromBig(b, family)}`));
}
