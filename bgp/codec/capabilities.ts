/**
 * Capabilities advertisement (RFC 5492), one table row per capability code. Rows decode a
 * capability's value into a typed object and encode it back; codes without a row stay opaque
 * ('unknown') so a peer's new capabilities are ignored, never fatal.
 */
import { CapabilityCode } from './constants';
import { BgpError, ErrorCode, OpenSubcode } from './errors';
import { Reader } from './reader';
import { Writer } from './writer';

export interface AfiSafi {
  afi: number;
  safi: number;
}

export type Capability =
  | ({ kind: 'multiprotocol' } & AfiSafi)
  | { kind: 'routeRefresh' }
  | { kind: 'routeRefreshCisco' }
  | { kind: 'enhancedRouteRefresh' }
  | { kind: 'fourOctetAs'; asn: number }
  | {
      kind: 'gracefulRestart';
      /** The 4 flag bits: 0x8 Restart State (R), 0x4 Notification (N, RFC 8538). */
      restartFlags: number;
      restartTime: number;
      families: (AfiSafi & { flags: number })[];
    }
  | { kind: 'extendedNextHop'; entries: (AfiSafi & { nextHopAfi: number })[] }
  | { kind: 'fqdn'; hostname: string; domain: string }
  | { kind: 'unknown'; code: number; value: Buffer };

type Kind = Capability['kind'];
type Of<K extends Kind> = Extract<Capability, { kind: K }>;

interface CapabilitySpec<K extends Kind> {
  code: number;
  name: string;
  decode(r: Reader): Of<K>;
  encode(w: Writer, c: Of<K>): void;
}

/** RFC 4271 6.2: a recognised but malformed optional parameter gets subcode 0 (Unspecific). */
const MALFORMED = { code: ErrorCode.OpenMessage, subcode: OpenSubcode.Unspecific };

function exact(r: Reader, n: number, name: string): void {
  if (r.remaining !== n) {
    throw new BgpError(MALFORMED.code, MALFORMED.subcode, Buffer.alloc(0), `${name} capability has ${r.remaining} bytes, expected ${n}`);
  }
}

function multipleOf(r: Reader, n: number, name: string): void {
  if (r.remaining % n !== 0) {
    throw new BgpError(
      MALFORMED.code,
      MALFORMED.subcode,
      Buffer.alloc(0),
      `${name} capability length ${r.remaining} is not a multiple of ${n}`,
    );
  }
}

const flagOnly = <K extends 'routeRefresh' | 'routeRefreshCisco' | 'enhancedRouteRefresh'>(
  kind: K,
  code: number,
  name: string,
): CapabilitySpec<K> => ({
  code,
  name,
  decode: (r) => {
    exact(r, 0, name);
    return { kind } as Of<K>;
  },
  encode: () => undefined,
});

const TABLE: { [K in Exclude<Kind, 'unknown'>]: CapabilitySpec<K> } = {
  multiprotocol: {
    code: CapabilityCode.Multiprotocol,
    name: 'Multiprotocol',
    decode: (r) => {
      exact(r, 4, 'Multiprotocol');
      const afi = r.u16();
      r.u8(); // reserved
      return { kind: 'multiprotocol', afi, safi: r.u8() };
    },
    encode: (w, c) => void w.u16(c.afi).u8(0).u8(c.safi),
  },
  routeRefresh: flagOnly('routeRefresh', CapabilityCode.RouteRefresh, 'Route Refresh'),
  routeRefreshCisco: flagOnly('routeRefreshCisco', CapabilityCode.RouteRefreshCisco, 'Route Refresh (Cisco)'),
  enhancedRouteRefresh: flagOnly('enhancedRouteRefresh', CapabilityCode.EnhancedRouteRefresh, 'Enhanced Route Refresh'),
  fourOctetAs: {
    code: CapabilityCode.FourOctetAs,
    name: '4-octet AS',
    decode: (r) => {
      exact(r, 4, '4-octet AS');
      return { kind: 'fourOctetAs', asn: r.u32() };
    },
    encode: (w, c) => void w.u32(c.asn),
  },
  gracefulRestart: {
    code: CapabilityCode.GracefulRestart,
    name: 'Graceful Restart',
    // RFC 4724 section 3: 4 flag bits + 12-bit restart time, then <AFI, SAFI, flags> tuples.
    decode: (r) => {
      if (r.remaining < 2 || (r.remaining - 2) % 4 !== 0) {
        throw new BgpError(MALFORMED.code, MALFORMED.subcode, Buffer.alloc(0), `Graceful Restart capability length ${r.remaining}`);
      }
      const head = r.u16();
      const families: (AfiSafi & { flags: number })[] = [];
      while (!r.done) families.push({ afi: r.u16(), safi: r.u8(), flags: r.u8() });
      return { kind: 'gracefulRestart', restartFlags: head >> 12, restartTime: head & 0xfff, families };
    },
    encode: (w, c) => {
      w.u16(((c.restartFlags & 0xf) << 12) | (c.restartTime & 0xfff));
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.flags);
    },
  },
  extendedNextHop: {
    code: CapabilityCode.ExtendedNextHop,
    name: 'Extended Next Hop',
    // RFC 8950 section 3: <NLRI AFI (2), NLRI SAFI (2), Nexthop AFI (2)> tuples.
    decode: (r) => {
      multipleOf(r, 6, 'Extended Next Hop');
      const entries: (AfiSafi & { nextHopAfi: number })[] = [];
      while (!r.done) entries.push({ afi: r.u16(), safi: r.u16(), nextHopAfi: r.u16() });
      return { kind: 'extendedNextHop', entries };
    },
    encode: (w, c) => {
      for (const e of c.entries) w.u16(e.afi).u16(e.safi).u16(e.nextHopAfi);
    },
  },
  fqdn: {
    code: CapabilityCode.Fqdn,
    name: 'FQDN',
    // draft-walton-bgp-hostname-capability: <len, hostname, len, domain>, as kube-router sends it.
    decode: (r) => {
      const hostname = r.bytes(r.u8('hostname length'), 'hostname').toString('utf8');
      const domain = r.bytes(r.u8('domain length'), 'domain').toString('utf8');
      exact(r, 0, 'FQDN');
      return { kind: 'fqdn', hostname, domain };
    },
    encode: (w, c) => {
      const h = Buffer.from(c.hostname, 'utf8').subarray(0, 255);
      const d = Buffer.from(c.domain, 'utf8').subarray(0, 255);
      w.u8(h.length).bytes(h).u8(d.length).bytes(d);
    },
  },
};

const BY_CODE = new Map<number, CapabilitySpec<Kind>>(
  Object.values(TABLE).map((spec) => [spec.code, spec as unknown as CapabilitySpec<Kind>]),
);

export function capabilityCode(c: Capability): number {
  return c.kind === 'unknown' ? c.code : TABLE[c.kind].code;
}

export function capabilityName(code: number): string {
  return BY_CODE.get(code)?.name ?? `Unknown (${code})`;
}

/** Decodes the capabilities inside one Capabilities optional parameter. */
export function decodeCapabilities(r: Reader): Capability[] {
  const out: Capability[] = [];
  while (!r.done) {
    const code = r.u8('capability code');
    const len = r.u8('capability length');
    const value = r.sub(len, 'capability value');
    const spec = BY_CODE.get(code);
    out.push(spec ? spec.decode(value) : { kind: 'unknown', code, value: Buffer.from(value.rest()) });
  }
  return out;
}

export function encodeCapability(w: Writer, c: Capability): void {
  w.u8(capabilityCode(c));
  const mark = w.lengthMark(1);
  if (c.kind === 'unknown') w.bytes(c.value);
  else (TABLE[c.kind] as CapabilitySpec<Kind>).encode(w, c);
  w.fillLength(mark, 1);
}
