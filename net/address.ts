/**
 * IP addresses as text: the one place that parses, formats and tells the families apart, for
 * every layer (codec, RIB, controllers, data path). Canonical text is what the rest of the
 * program compares: dotted quads for IPv4, RFC 5952 for IPv6 (ipaddr.js), IPv4-mapped IPv6
 * keeping its dotted quad (RFC 5952 section 5).
 */
import ipaddr from 'ipaddr.js';

export type IpFamily = 4 | 6;

/**
 * The family of an address or prefix already known to be valid. Only IPv6 text contains ':',
 * so this is a character test, cheap enough for the speaker's per-route paths.
 */
export function ipFamily(text: string): IpFamily {
  return text.includes(':') ? 6 : 4;
}

/** Bits in an address of the family: 32 or 128. */
export function addressBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/**
 * Strict dotted-quad IPv4 ("10.0.0.1": four decimal octets, no leading zeros) as a number, or
 * undefined. The hot path of encoding and of checking next hops: no buffer made. `end` reads
 * only the text before it (the address of "a.b.c.d/len" without a slice).
 */
export function ipv4Value(text: string, end = text.length): number | undefined {
  let part = 0;
  let address = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 46; // a virtual '.' ends the last octet
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else if (c === 46 && digits > 0 && part < 4) {
      address = address * 256 + value;
      part++;
      value = 0;
      digits = 0;
    } else return undefined;
  }
  return part === 4 ? address : undefined;
}

/** The same, as 4 bytes. */
function parseIpv4(text: string): Buffer | undefined {
  const v = ipv4Value(text);
  if (v === undefined) return undefined;
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(v, 0);
  return out;
}

/** An IPv4 or IPv6 address as its 4 or 16 bytes; throws RangeError on anything else. */
export function parseIp(text: string): Buffer {
  const v4 = parseIpv4(text);
  if (v4) return v4;
  if (!isIpv6(text)) throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
  return Buffer.from(ipaddr.IPv6.parse(text).toByteArray());
}

export function isIpv4(text: string): boolean {
  return ipv4Value(text) !== undefined;
}

export function isIpv6(text: string): boolean {
  return text.includes(':') && ipaddr.IPv6.isValid(text);
}

/** A strict IPv4 dotted quad or a valid IPv6 address. */
export function isIp(text: string): boolean {
  return isIpv4(text) || isIpv6(text);
}

export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** 4 or 16 bytes as canonical text. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return formatIpv4(b);
  if (b.length === 16) {
    if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${formatIpv4(b, 12)}`;
    return ipaddr.fromByteArray(Array.from(b)).toString();
  }
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${b.length}`);
}

/** The canonical text of an address ("fd00:0::1" -> "fd00::1"); throws RangeError. */
export function canonicalIp(text: string): string {
  return formatIp(parseIp(text));
}

/** An IPv4 address (a BGP identifier) as an unsigned 32-bit number, for comparisons. */
export function ipv4ToNumber(ip: string): number {
  return ipv4Value(ip) ?? parseIp(ip).readUInt32BE(0);
}

/**
 * An address as a socket reports it, canonical: "::ffff:10.0.0.1" (an IPv4 client on a
 * dual-stack socket) becomes "10.0.0.1". Text that is not an address comes back as it was.
 */
export function normalizeAddress(addr: string | undefined): string | undefined {
  if (!addr) return addr;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (m && isIpv4(m[1]!)) return m[1];
  return isIp(addr) ? canonicalIp(addr) : addr;
}

/** "10.0.0.1" -> "10.0.0.1/32", "fd00::1" -> "fd00::1/128". */
export function hostPrefix(ip: string): string {
  return `${ip}/${addressBits(ipFamily(ip))}`;
}

/** "10.0.0.1", 80 -> "10.0.0.1:80"; IPv6 in brackets ("[fd00::1]:80"). */
export function hostPort(ip: string, port: number): string {
  return ipFamily(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}
