/**
 * IP addresses and NLRI prefixes between their wire form and canonical text ("10.0.0.0/24",
 * "2001:db8::/32"). Text is the speaker's key for routes, so formatting is canonical: host bits
 * beyond the prefix length are cleared (RFC 4271 section 4.3 calls them irrelevant) and IPv6
 * follows RFC 5952 (ipaddr.js).
 */
import ipaddr from 'ipaddr.js';
import { Afi } from './constants';
import { Reader } from './reader';
import { Writer } from './writer';
import { BgpError, ErrorCode } from './errors';

export function addressLength(afi: Afi): number {
  return afi === Afi.Ipv4 ? 4 : 16;
}

export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return formatIpv4(b);
  if (b.length === 16) {
    // RFC 5952 5: IPv4-mapped addresses keep the dotted quad.
    if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${formatIpv4(b, 12)}`;
    return ipaddr.fromByteArray(Array.from(b)).toString();
  }
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${b.length}`);
}

/**
 * Strict dotted-quad IPv4 ("10.0.0.1": four decimal octets, no leading zeros) into a 4-byte
 * buffer, or undefined. The hot path of encoding: every prefix and next hop goes through it.
 */
function parseIpv4(text: string): Buffer | undefined {
  const out = Buffer.allocUnsafe(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // a virtual '.' ends the last octet
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else if (c === 46 && digits > 0 && part < 4) {
      out[part++] = value;
      value = 0;
      digits = 0;
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

/** Parses an IPv4 or IPv6 address; throws on anything else. */
export function parseIp(text: string): Buffer {
  const v4 = parseIpv4(text);
  if (v4) return v4;
  if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
  return Buffer.from(ipaddr.IPv6.parse(text).toByteArray());
}

/** An IPv4 address (a BGP identifier) as an unsigned 32-bit number, for comparisons. */
export function ipv4ToNumber(ip: string): number {
  return parseIp(ip).readUInt32BE(0);
}

export function isIpv4(text: string): boolean {
  return parseIpv4(text) !== undefined;
}

export function isIpv6(text: string): boolean {
  return text.includes(':') && ipaddr.IPv6.isValid(text);
}

export interface ParsedPrefix {
  afi: Afi;
  length: number;
  /** The significant bytes only: ceil(length / 8). */
  bytes: Buffer;
}

/** Parses "addr/len" into canonical form, clearing host bits. Throws RangeError on bad input. */
export function parsePrefix(text: string): ParsedPrefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new RangeError(`not a prefix (no /len): ${JSON.stringify(text)}`);
  const addr = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  const length = /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
  const max = addr.length * 8;
  if (!(length >= 0 && length <= max)) throw new RangeError(`bad prefix length in ${JSON.stringify(text)}`);
  const bytes = Buffer.from(addr.subarray(0, (length + 7) >> 3));
  maskTail(bytes, length);
  return { afi: addr.length === 4 ? Afi.Ipv4 : Afi.Ipv6, length, bytes };
}

/** Canonical text of a prefix given its significant bytes. */
export function formatPrefix(afi: Afi, length: number, bytes: Uint8Array): string {
  const full = new Uint8Array(addressLength(afi));
  full.set(bytes.subarray(0, Math.min(bytes.length, full.length)));
  maskTail(full, length);
  return `${formatIp(full)}/${length}`;
}

/** Returns the canonical form of a prefix text, or throws RangeError. */
export function canonicalPrefix(text: string): string {
  const p = parsePrefix(text);
  return formatPrefix(p.afi, p.length, p.bytes);
}

function maskTail(bytes: Uint8Array, length: number): void {
  const full = length >> 3;
  const bits = length & 7;
  if (bits && full < bytes.length) bytes[full]! &= (0xff << (8 - bits)) & 0xff;
  for (let i = bits ? full + 1 : full; i < bytes.length; i++) bytes[i] = 0;
}

/**
 * Decodes a run of <length, prefix> tuples (RFC 4271 4.3, RFC 4760 5) until the reader ends.
 * A length beyond the family's maximum or a prefix cut short throws `error`.
 */
export function decodePrefixes(r: Reader, afi: Afi, error: { code: ErrorCode; subcode: number }): string[] {
  const max = addressLength(afi) * 8;
  const out: string[] = [];
  while (!r.done) {
    const length = r.u8('prefix length');
    if (length > max) throw new BgpError(error.code, error.subcode, Buffer.alloc(0), `prefix length ${length} > ${max}`);
    const n = (length + 7) >> 3;
    if (n > r.remaining) throw new BgpError(error.code, error.subcode, Buffer.alloc(0), `prefix /${length} cut short`);
    out.push(afi === Afi.Ipv4 ? formatIpv4Prefix(r.bytes(n), length) : formatPrefix(afi, length, r.bytes(n)));
  }
  return out;
}

/** The IPv4 hot path of formatPrefix, without the intermediate arrays. */
function formatIpv4Prefix(b: Buffer, length: number): string {
  let v = 0;
  for (let i = 0; i < 4; i++) v = v * 256 + (i < b.length ? b[i]! : 0);
  if (length < 32) v = length === 0 ? 0 : v - (v % 2 ** (32 - length));
  return `${Math.floor(v / 16777216)}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}/${length}`;
}

export function encodePrefix(w: Writer, text: string): void {
  const p = parsePrefix(text);
  w.u8(p.length).bytes(p.bytes);
}

export function prefixAfi(text: string): Afi {
  return text.includes(':') ? Afi.Ipv6 : Afi.Ipv4;
}
