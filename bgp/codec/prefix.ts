/**
 * NLRI prefixes on the wire (RFC 4271 4.3, RFC 4760 5): <length, significant bytes> tuples to
 * and from canonical text. Text is the speaker's key for routes; parsing and formatting text
 * live in net/ and are shared with the rest of the program.
 */
import { clearHostBits, formatIp, formatIpv4PrefixKey, ipFamily, ipv4PrefixKey, parsePrefix, type PrefixKey } from '../../net';
import { Afi } from './constants';
import { Reader } from './reader';
import { Writer } from './writer';
import { BgpError, ErrorCode } from './errors';

export function addressLength(afi: Afi): number {
  return afi === Afi.Ipv4 ? 4 : 16;
}

/** Canonical text of a prefix given its significant bytes (host bits past `length` ignored). */
export function formatWirePrefix(afi: Afi, length: number, bytes: Uint8Array): string {
  const full = Buffer.alloc(addressLength(afi));
  full.set(bytes.subarray(0, Math.min(bytes.length, full.length)));
  clearHostBits(full, length);
  return `${formatIp(full)}/${length}`;
}

/**
 * Decodes a run of <length, prefix> tuples until the reader ends. A length beyond the family's
 * maximum or a prefix cut short throws `error`.
 */
export function decodePrefixes(r: Reader, afi: Afi, error: { code: ErrorCode; subcode: number }): string[] {
  if (afi === Afi.Ipv4) return decodeIpv4Keys(r, error).map(formatIpv4PrefixKey);
  const max = addressLength(afi) * 8;
  const out: string[] = [];
  while (!r.done) {
    const length = r.u8('prefix length');
    if (length > max) throw new BgpError(error.code, error.subcode, Buffer.alloc(0), `prefix length ${length} > ${max}`);
    const n = (length + 7) >> 3;
    if (n > r.remaining) throw new BgpError(error.code, error.subcode, Buffer.alloc(0), `prefix /${length} cut short`);
    out.push(formatWirePrefix(afi, length, r.bytes(n)));
  }
  return out;
}

/**
 * The classic IPv4 fields of an UPDATE (withdrawn routes, NLRI): each prefix as its number
 * (PrefixKey: address * 64 + length, host bits cleared), no text made per route; the speaker's
 * tables key IPv4 by that number and the encoder writes it back as it is. Errors as
 * decodePrefixes.
 */
export function decodeIpv4Keys(r: Reader, error: { code: ErrorCode; subcode: number }): number[] {
  const out: number[] = [];
  while (!r.done) {
    const length = r.u8('prefix length');
    if (length > 32) throw new BgpError(error.code, error.subcode, Buffer.alloc(0), `prefix length ${length} > 32`);
    const n = (length + 7) >> 3;
    if (n > r.remaining) throw new BgpError(error.code, error.subcode, Buffer.alloc(0), `prefix /${length} cut short`);
    let v = r.uint(n) * 2 ** (32 - 8 * n);
    if (length < 32) v = length === 0 ? 0 : v - (v % 2 ** (32 - length));
    out.push(v * 64 + length);
  }
  return out;
}

/** A prefix (text, or an IPv4 prefix as its number: see PrefixKey) in wire form. */
export function encodePrefix(w: Writer, p: PrefixKey): void {
  const key = typeof p === 'number' ? p : ipv4PrefixKey(p);
  if (key !== undefined) {
    encodeIpv4Key(w, key);
    return;
  }
  const parsed = parsePrefix(p as string);
  w.u8(parsed.length).bytes(parsed.bytes.subarray(0, (parsed.length + 7) >> 3));
}

/**
 * The IPv4 hot path of encodePrefix: the length, then the significant octets of the address
 * (host bits past the length cleared), straight into the writer from the number; no buffer or
 * object (re-advertising 100k routes encodes 100k of them).
 */
function encodeIpv4Key(w: Writer, key: number): void {
  const length = key % 64;
  const v = (key - length) / 64;
  w.u8(length);
  const n = (length + 7) >> 3;
  const keep = length & 7;
  for (let k = 0; k < n; k++) {
    let b = (v >>> (24 - 8 * k)) & 0xff;
    if (k === n - 1 && keep) b &= (0xff << (8 - keep)) & 0xff;
    w.u8(b);
  }
}

export function prefixAfi(text: string): Afi {
  return ipFamily(text) === 6 ? Afi.Ipv6 : Afi.Ipv4;
}
