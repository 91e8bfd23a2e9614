/**
 * Prefixes ("10.0.0.0/24", "2001:db8::/32") as text: parsing, the canonical form (host bits
 * cleared, as RFC 4271 section 4.3 calls them irrelevant), and containment. Routes, pod CIDRs,
 * service ranges and connected subnets are all compared in canonical form.
 */
import { addressBits, formatIp, ipFamily, ipv4Value, parseIp, type IpFamily } from './address';

export interface Prefix {
  family: IpFamily;
  length: number;
  /** The whole address (4 or 16 bytes) with the bits past `length` cleared. */
  bytes: Buffer;
}

/** Parses "addr/len", clearing host bits. Throws RangeError on bad input. */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new RangeError(`not a prefix (no /len): ${JSON.stringify(text)}`);
  const bytes = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  const length = /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
  if (!(length >= 0 && length <= bytes.length * 8)) throw new RangeError(`bad prefix length in ${JSON.stringify(text)}`);
  clearHostBits(bytes, length);
  return { family: bytes.length === 4 ? 4 : 6, length, bytes };
}

/**
 * A strict IPv4 prefix text ("10.0.0.0/24": a dotted quad as ipv4Value takes it, then one or two
 * digits up to 32, no leading zero) as one number, address * 64 + length; undefined for anything
 * else. Host bits are kept, so distinct texts give distinct numbers. The hot path of numbering
 * and encoding routes: no slice, buffer or object per prefix.
 */
export function ipv4PrefixKey(text: string): number | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const digits = text.length - slash - 1;
  if (digits < 1 || digits > 2 || (digits === 2 && text.charCodeAt(slash + 1) === 48)) return undefined;
  let length = 0;
  for (let i = slash + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    length = length * 10 + (c - 48);
  }
  if (length > 32) return undefined;
  const address = ipv4Value(text, slash);
  return address === undefined ? undefined : address * 64 + length;
}

/**
 * A prefix as the BGP speaker's tables pass it on toward the wire: a strict IPv4 prefix as its
 * number (ipv4PrefixKey), any other as its text. Numbers need no text made per route nor parsed
 * again to be encoded.
 */
export type PrefixKey = number | string;

/** The text of an IPv4 prefix number (ipv4PrefixKey's inverse). */
export function formatIpv4PrefixKey(key: number): string {
  const length = key % 64;
  const a = (key - length) / 64;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${length}`;
}

/** The text of a prefix key. */
export function prefixText(p: PrefixKey): string {
  return typeof p === 'number' ? formatIpv4PrefixKey(p) : p;
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.bytes)}/${p.length}`;
}

/** The canonical form of a prefix text ("10.0.0.7/24" -> "10.0.0.0/24"), or RangeError. */
export function canonicalPrefix(text: string): string {
  return formatPrefix(parsePrefix(text));
}

/** The network an interface address lies in: "10.0.0.7/24" -> "10.0.0.0/24" (as canonicalPrefix). */
export const networkOf = canonicalPrefix;

/** Clears the bits of `bytes` past `length` in place. */
export function clearHostBits(bytes: Uint8Array, length: number): void {
  const full = length >> 3;
  const bits = length & 7;
  if (bits && full < bytes.length) bytes[full]! &= (0xff << (8 - bits)) & 0xff;
  for (let i = bits ? full + 1 : full; i < bytes.length; i++) bytes[i] = 0;
}

/** An address or a prefix as a prefix (an address is its host prefix). */
function asPrefix(text: string): Prefix {
  return text.includes('/') ? parsePrefix(text) : parsePrefix(`${text}/${addressBits(ipFamily(text))}`);
}

function covers(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || inner.length < outer.length) return false;
  const probe = Buffer.from(inner.bytes);
  clearHostBits(probe, outer.length);
  return probe.equals(outer.bytes);
}

/** True when `inner` (an address or a prefix) equals or lies inside the prefix `outer`. */
export function prefixContains(outer: string, inner: string): boolean {
  return covers(parsePrefix(outer), asPrefix(inner));
}

/** The first of `prefixes` that equals or contains `inner` (an address or a prefix), if any. */
export function containingPrefix(inner: string, prefixes: readonly string[]): string | undefined {
  return prefixList(prefixes).containing(inner);
}

/** A list of prefixes parsed once, for asking about many addresses or prefixes in a row. */
export interface PrefixList {
  /** The first prefix that equals or contains `inner` (an address or a prefix), if any. */
  containing(inner: string): string | undefined;
}

export function prefixList(prefixes: readonly string[]): PrefixList {
  const parsed = prefixes.map((text) => ({ text, p: parsePrefix(text) }));
  return {
    containing(inner) {
      if (parsed.length === 0) return undefined;
      const i = asPrefix(inner);
      return parsed.find(({ p }) => covers(p, i))?.text;
    },
  };
}

/** True when the address or prefix `inner` lies in one of `prefixes`. */
export function inPrefixes(inner: string, prefixes: readonly string[]): boolean {
  return containingPrefix(inner, prefixes) !== undefined;
}

/** The first address after the network's, with the length: firstHost("10.244.1.0/24") -> "10.244.1.1/24". */
export function firstHost(prefix: string): string {
  const p = parsePrefix(prefix);
  for (let i = p.bytes.length - 1; i >= 0; i--) {
    p.bytes[i] = (p.bytes[i]! + 1) & 0xff;
    if (p.bytes[i] !== 0) break;
  }
  return `${formatIp(p.bytes)}/${p.length}`;
}
