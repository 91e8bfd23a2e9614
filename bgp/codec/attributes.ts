/**
 * Path attributes (RFC 4271 4.3 and 5), one table row per type code: name, expected flags, the
 * RFC 7606 action when the value is malformed, decode and encode. `decodeAttributes` is the
 * generic driver: it checks flags, lengths and duplicates, keeps unknown optional transitive
 * attributes opaque, and reports problems instead of throwing unless the session must be reset.
 */
import { AttrCode, AttrFlag, AsPathSegmentType, Origin, Afi, AS_TRANS } from './constants';
import { BgpError, ErrorCode, UpdateSubcode } from './errors';
import { ErrorAction, AttributeProblem, Malformed } from './error-handling';
import { Reader } from './reader';
import { Writer } from './writer';
import { formatIpv4, formatIp, parseIp } from '../../net';
import { decodePrefixes, encodePrefix } from './prefix';

export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

/** Per-session facts the wire format depends on (BIRD: struct bgp_parse_state). */
export interface CodecContext {
  /** Both sides advertised the 4-octet AS capability (RFC 6793): AS_PATH carries 4-octet ASNs. */
  as4: boolean;
}

export type Attribute =
  | { kind: 'origin'; flags: number; origin: Origin }
  | { kind: 'asPath'; flags: number; segments: AsPathSegment[] }
  | { kind: 'nextHop'; flags: number; nextHop: string }
  | { kind: 'med'; flags: number; med: number }
  | { kind: 'localPref'; flags: number; localPref: number }
  | { kind: 'atomicAggregate'; flags: number }
  | { kind: 'aggregator'; flags: number; asn: number; address: string }
  | { kind: 'communities'; flags: number; communities: number[] }
  | { kind: 'originatorId'; flags: number; originatorId: string }
  | { kind: 'clusterList'; flags: number; clusterIds: string[] }
  | {
      kind: 'mpReach';
      flags: number;
      afi: number;
      safi: number;
      /** Global next hop first, then an IPv6 link-local one when present (RFC 2545). */
      nextHops: string[];
      nlri: string[];
      /** Set for AFI/SAFIs we do not parse: the bytes after AFI/SAFI, kept as they came. */
      opaque?: Buffer;
    }
  | { kind: 'mpUnreach'; flags: number; afi: number; safi: number; withdrawn: string[]; opaque?: Buffer }
  | { kind: 'extendedCommunities'; flags: number; communities: Buffer[] }
  | { kind: 'as4Path'; flags: number; segments: AsPathSegment[] }
  | { kind: 'as4Aggregator'; flags: number; asn: number; address: string }
  | { kind: 'largeCommunities'; flags: number; communities: [number, number, number][] }
  | { kind: 'unknown'; flags: number; code: number; value: Buffer };

type Kind = Attribute['kind'];
type Of<K extends Kind> = Extract<Attribute, { kind: K }>;
type Body<K extends Kind> = Omit<Of<K>, 'kind' | 'flags'>;

interface AttributeSpec<K extends Exclude<Kind, 'unknown'>> {
  code: AttrCode;
  name: string;
  /** The Optional and Transitive bits this attribute must carry. */
  flags: number;
  /** RFC 7606 section 7: what a malformed value costs. 'reset' ends the session. */
  onError: ErrorAction | 'reset';
  decode(r: Reader, ctx: CodecContext): Body<K>;
  encode(w: Writer, a: Of<K>, ctx: CodecContext): void;
}

const WELL_KNOWN = AttrFlag.Transitive;
const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;
const OPTIONAL = AttrFlag.Optional;
const FLAG_MASK = AttrFlag.Optional | AttrFlag.Transitive;

function length(r: Reader, ok: (n: number) => boolean, expected: string): void {
  if (!ok(r.remaining)) throw new Malformed(`length ${r.remaining}, expected ${expected}`);
}

const u32Attr = <K extends 'med' | 'localPref'>(
  _kind: K,
  code: AttrCode,
  name: string,
  flags: number,
  field: string,
): AttributeSpec<K> => ({
  code,
  name,
  flags,
  onError: ErrorAction.TreatAsWithdraw,
  decode: (r) => {
    length(r, (n) => n === 4, '4');
    return { [field]: r.u32() } as Body<K>;
  },
  encode: (w, a) => void w.u32((a as unknown as Record<string, number>)[field]!),
});

function decodeSegments(r: Reader, asnSize: 2 | 4): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  while (!r.done) {
    // RFC 7606 7.2: a lone trailing octet, an unknown type, a zero count or an overrun is malformed.
    if (r.remaining < 2) throw new Malformed('trailing octet after the last segment');
    const type = r.u8();
    const count = r.u8();
    if (type !== AsPathSegmentType.AsSet && type !== AsPathSegmentType.AsSequence) throw new Malformed(`segment type ${type}`);
    if (count === 0) throw new Malformed('empty segment');
    if (r.remaining < count * asnSize) throw new Malformed('segment overruns the attribute');
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++) asns[i] = asnSize === 4 ? r.u32() : r.u16();
    segments.push({ type, asns });
  }
  return segments;
}

function encodeSegments(w: Writer, segments: AsPathSegment[], asnSize: 2 | 4): void {
  for (const s of segments) {
    // A segment holds at most 255 ASNs: split longer runs (RFC 4271 5.1.2 prepending may create them).
    for (let i = 0; i < s.asns.length || i === 0; i += 255) {
      const part = s.asns.slice(i, i + 255);
      w.u8(s.type).u8(part.length);
      for (const asn of part) {
        if (asnSize === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
      if (s.asns.length === 0) break;
    }
  }
}

function decodeAggregator(r: Reader, asnSize: 2 | 4): { asn: number; address: string } {
  length(r, (n) => n === asnSize + 4, String(asnSize + 4));
  const asn = asnSize === 4 ? r.u32() : r.u16();
  return { asn, address: formatIpv4(r.bytes(4)) };
}

function encodeAggregator(w: Writer, asn: number, address: string, asnSize: 2 | 4): void {
  if (asnSize === 4) w.u32(asn);
  else w.u16(asn > 0xffff ? AS_TRANS : asn);
  w.bytes(parseIp(address));
}

/** NLRI inside MP attributes: RFC 7606 7.11 says an unparseable one resets the session. */
const MP_NLRI_ERROR = { code: ErrorCode.UpdateMessage, subcode: UpdateSubcode.OptionalAttributeError };

function parsedFamily(afi: number, safi: number): boolean {
  return (afi === Afi.Ipv4 || afi === Afi.Ipv6) && safi === 1;
}

const TABLE: { [K in Exclude<Kind, 'unknown'>]: AttributeSpec<K> } = {
  origin: {
    code: AttrCode.Origin,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    onError: ErrorAction.TreatAsWithdraw,
    decode: (r) => {
      length(r, (n) => n === 1, '1');
      const origin = r.u8();
      if (origin > Origin.Incomplete) throw new Malformed(`undefined origin ${origin}`);
      return { origin };
    },
    encode: (w, a) => void w.u8(a.origin),
  },
  asPath: {
    code: AttrCode.AsPath,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    onError: ErrorAction.TreatAsWithdraw,
    decode: (r, ctx) => ({ segments: decodeSegments(r, ctx.as4 ? 4 : 2) }),
    encode: (w, a, ctx) => encodeSegments(w, a.segments, ctx.as4 ? 4 : 2),
  },
  nextHop: {
    code: AttrCode.NextHop,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    onError: ErrorAction.TreatAsWithdraw,
    decode: (r) => {
      length(r, (n) => n === 4, '4');
      return { nextHop: formatIpv4(r.bytes(4)) };
    },
    encode: (w, a) => void w.bytes(parseIp(a.nextHop)),
  },
  med: u32Attr('med', AttrCode.MultiExitDisc, 'MULTI_EXIT_DISC', OPTIONAL, 'med'),
  localPref: u32Attr('localPref', AttrCode.LocalPref, 'LOCAL_PREF', WELL_KNOWN, 'localPref'),
  atomicAggregate: {
    code: AttrCode.AtomicAggregate,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    onError: ErrorAction.AttributeDiscard,
    decode: (r) => {
      length(r, (n) => n === 0, '0');
      return {};
    },
    encode: () => undefined,
  },
  aggregator: {
    code: AttrCode.Aggregator,
    name: 'AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onError: ErrorAction.AttributeDiscard,
    decode: (r, ctx) => decodeAggregator(r, ctx.as4 ? 4 : 2),
    encode: (w, a, ctx) => encodeAggregator(w, a.asn, a.address, ctx.as4 ? 4 : 2),
  },
  communities: {
    code: AttrCode.Communities,
    name: 'COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    onError: ErrorAction.TreatAsWithdraw,
    decode: (r) => {
      length(r, (n) => n > 0 && n % 4 === 0, 'a non-zero multiple of 4');
      const communities: number[] = [];
      while (!r.done) communities.push(r.u32());
      return { communities };
    },
    encode: (w, a) => a.communities.forEach((c) => w.u32(c)),
  },
  originatorId: {
    code: AttrCode.OriginatorId,
    name: 'ORIGINATOR_ID',
    flags: OPTIONAL,
    onError: ErrorAction.TreatAsWithdraw,
    decode: (r) => {
      length(r, (n) => n === 4, '4');
      return { originatorId: formatIpv4(r.bytes(4)) };
    },
    encode: (w, a) => void w.bytes(parseIp(a.originatorId)),
  },
  clusterList: {
    code: AttrCode.ClusterList,
    name: 'CLUSTER_LIST',
    flags: OPTIONAL,
    onError: ErrorAction.TreatAsWithdraw,
    decode: (r) => {
      length(r, (n) => n > 0 && n % 4 === 0, 'a non-zero multiple of 4');
      const clusterIds: string[] = [];
      while (!r.done) clusterIds.push(formatIpv4(r.bytes(4)));
      return { clusterIds };
    },
    encode: (w, a) => a.clusterIds.forEach((id) => w.bytes(parseIp(id))),
  },
  mpReach: {
    code: AttrCode.MpReachNlri,
    name: 'MP_REACH_NLRI',
    flags: OPTIONAL,
    onError: 'reset',
    // RFC 4760 section 3: AFI, SAFI, next hop length and address(es), reserved octet, NLRI.
    decode: (r) => {
      const afi = r.u16('AFI');
      const safi = r.u8('SAFI');
      if (!parsedFamily(afi, safi)) return { afi, safi, nextHops: [], nlri: [], opaque: Buffer.from(r.rest()) };
      const nhLen = r.u8('next hop length');
      const nh = r.bytes(nhLen, 'next hop');
      r.u8('reserved');
      const nlri = decodePrefixes(r, afi, MP_NLRI_ERROR);
      // Next hop sizes: 4 (IPv4), 16 (IPv6 or RFC 8950), 32 (global + link-local, RFC 2545).
      let nextHops: string[];
      if (nhLen === 4) nextHops = [formatIpv4(nh)];
      else if (nhLen === 16) nextHops = [formatIp(nh)];
      else if (nhLen === 32) nextHops = [formatIp(nh.subarray(0, 16)), formatIp(nh.subarray(16))];
      else throw new MalformedNextHop(afi, safi, nlri, `next hop length ${nhLen}`);
      if (afi === Afi.Ipv6 && nhLen === 4) throw new MalformedNextHop(afi, safi, nlri, 'IPv4 next hop for IPv6 NLRI');
      return { afi, safi, nextHops, nlri };
    },
    encode: (w, a) => {
      w.u16(a.afi).u8(a.safi);
      if (a.opaque) return void w.bytes(a.opaque);
      const nh = a.nextHops.map(parseIp);
      w.u8(nh.reduce((n, b) => n + b.length, 0));
      nh.forEach((b) => w.bytes(b));
      w.u8(0);
      a.nlri.forEach((p) => encodePrefix(w, p));
    },
  },
  mpUnreach: {
    code: AttrCode.MpUnreachNlri,
    name: 'MP_UNREACH_NLRI',
    flags: OPTIONAL,
    onError: 'reset',
    decode: (r) => {
      const afi = r.u16('AFI');
      const safi = r.u8('SAFI');
      if (!parsedFamily(afi, safi)) return { afi, safi, withdrawn: [], opaque: Buffer.from(r.rest()) };
      return { afi, safi, withdrawn: decodePrefixes(r, afi, MP_NLRI_ERROR) };
    },
    encode: (w, a) => {
      w.u16(a.afi).u8(a.safi);
      if (a.opaque) return void w.bytes(a.opaque);
      a.withdrawn.forEach((p) => encodePrefix(w, p));
    },
  },
  extendedCommunities: {
    code: AttrCode.ExtendedCommunities,
    name: 'EXTENDED_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    onError: ErrorAction.TreatAsWithdraw,
    decode: (r) => {
      length(r, (n) => n > 0 && n % 8 === 0, 'a non-zero multiple of 8');
      const communities: Buffer[] = [];
      while (!r.done) communities.push(Buffer.from(r.bytes(8)));
      return { communities };
    },
    encode: (w, a) => a.communities.forEach((c) => w.bytes(c)),
  },
  as4Path: {
    code: AttrCode.As4Path,
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    // RFC 6793 section 6: a malformed AS4_PATH is discarded, the route kept.
    onError: ErrorAction.AttributeDiscard,
    decode: (r) => ({ segments: decodeSegments(r, 4) }),
    encode: (w, a) => encodeSegments(w, a.segments, 4),
  },
  as4Aggregator: {
    code: AttrCode.As4Aggregator,
    name: 'AS4_AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onError: ErrorAction.AttributeDiscard,
    decode: (r) => decodeAggregator(r, 4),
    encode: (w, a) => encodeAggregator(w, a.asn, a.address, 4),
  },
  largeCommunities: {
    code: AttrCode.LargeCommunities,
    name: 'LARGE_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    // RFC 8092 section 6.
    onError: ErrorAction.TreatAsWithdraw,
    decode: (r) => {
      length(r, (n) => n > 0 && n % 12 === 0, 'a non-zero multiple of 12');
      const communities: [number, number, number][] = [];
      while (!r.done) communities.push([r.u32(), r.u32(), r.u32()]);
      return { communities };
    },
    encode: (w, a) => a.communities.forEach(([g, l1, l2]) => w.u32(g).u32(l1).u32(l2)),
  },
};

/** MP_REACH whose NLRI parsed but whose next hop did not: RFC 7606 7.11 allows treat-as-withdraw. */
class MalformedNextHop extends Malformed {
  constructor(
    readonly afi: number,
    readonly safi: number,
    readonly nlri: string[],
    reason: string,
  ) {
    super(reason);
  }
}

type AnySpec = AttributeSpec<Exclude<Kind, 'unknown'>>;
const BY_CODE = new Map<number, [Exclude<Kind, 'unknown'>, AnySpec]>(
  (Object.entries(TABLE) as [Exclude<Kind, 'unknown'>, AnySpec][]).map(([kind, spec]) => [spec.code, [kind, spec]]),
);

export function attributeCode(a: Attribute): number {
  return a.kind === 'unknown' ? a.code : TABLE[a.kind].code;
}

export function attributeName(code: number): string {
  return BY_CODE.get(code)?.[1].name ?? `attribute ${code}`;
}

/** The flags a new attribute of this kind gets (Optional/Transitive bits per its definition). */
export function defaultFlags(kind: Exclude<Kind, 'unknown'>): number {
  return TABLE[kind].flags;
}

export interface DecodedAttributes {
  attributes: Attribute[];
  action: ErrorAction;
  problems: AttributeProblem[];
  /** NLRI of an MP_REACH_NLRI whose next hop was malformed: to be treated as withdrawn. */
  withdrawnByError: { afi: number; safi: number; nlri: string[] }[];
}

/** A value shorter than its own structure says: the attribute is malformed, not the message. */
const VALUE_OVERRUN = { code: ErrorCode.UpdateMessage, subcode: UpdateSubcode.AttributeLengthError };

function addProblem(out: DecodedAttributes, action: ErrorAction, code: number | undefined, reason: string): void {
  out.problems.push({ action, code, reason });
  if (action > out.action) out.action = action;
}

/** The type codes met so far in one attribute list: bits for the common ones, a set for the rest. */
class SeenCodes {
  private low = 0;
  private high = 0;
  private others: Set<number> | undefined;

  /** Records `code`; false when it was there already. */
  add(code: number): boolean {
    if (code < 32) return this.low !== (this.low |= 1 << code);
    if (code < 64) return this.high !== (this.high |= 1 << (code - 32));
    this.others ??= new Set();
    return this.others.size !== this.others.add(code).size;
  }
}

/**
 * Decodes the Path Attributes field of an UPDATE. Throws BgpError when the session must be reset;
 * otherwise returns the usable attributes and the strongest RFC 7606 action required.
 * (Runs once per UPDATE: nothing is allocated per attribute beyond the attribute itself.)
 */
export function decodeAttributes(r: Reader, ctx: CodecContext): DecodedAttributes {
  const out: DecodedAttributes = { attributes: [], action: ErrorAction.None, problems: [], withdrawnByError: [] };
  const seen = new SeenCodes();

  while (!r.done) {
    const start = r.offset;
    // RFC 7606 section 4: an attribute header or value overrunning the field is treat-as-withdraw;
    // the Total Path Attribute Length still locates the NLRI, so parsing the rest stays reliable.
    if (r.remaining < 3) {
      addProblem(out, ErrorAction.TreatAsWithdraw, undefined, `${r.remaining} stray octets after the last attribute`);
      r.rest();
      break;
    }
    const flags = r.u8();
    const code = r.u8();
    const extended = (flags & AttrFlag.ExtendedLength) !== 0;
    if (extended && r.remaining < 2) {
      addProblem(out, ErrorAction.TreatAsWithdraw, code, 'extended length cut short');
      r.rest();
      break;
    }
    const len = extended ? r.u16() : r.u8();
    if (len > r.remaining) {
      if (code === AttrCode.MpReachNlri || code === AttrCode.MpUnreachNlri) {
        throw new BgpError(
          ErrorCode.UpdateMessage,
          UpdateSubcode.OptionalAttributeError,
          Buffer.alloc(0),
          `${attributeName(code)} overruns the attribute field`,
        );
      }
      addProblem(out, ErrorAction.TreatAsWithdraw, code, `${attributeName(code)} length ${len} overruns the ${r.remaining} octets left`);
      r.rest();
      break;
    }
    // Fits: checked just above, so the name is only for the reads inside it.
    const value = r.sub(len, 'attribute value', VALUE_OVERRUN);

    // RFC 7606 3(g): a repeated MP attribute resets the session, any other repeat is dropped.
    if (!seen.add(code)) {
      if (code === AttrCode.MpReachNlri || code === AttrCode.MpUnreachNlri) {
        throw new BgpError(
          ErrorCode.UpdateMessage,
          UpdateSubcode.MalformedAttributeList,
          Buffer.alloc(0),
          `${attributeName(code)} appears twice`,
        );
      }
      addProblem(out, ErrorAction.None, code, `duplicate ${attributeName(code)} dropped`);
      continue;
    }

    const entry = BY_CODE.get(code);
    if (!entry) {
      if (!(flags & AttrFlag.Optional)) {
        // RFC 4271 6.3: an unrecognised well-known attribute is still fatal; data = the attribute.
        throw new BgpError(
          ErrorCode.UpdateMessage,
          UpdateSubcode.UnrecognizedWellKnownAttribute,
          Buffer.from(r.sliceFrom(start)),
          `type ${code}`,
        );
      }
      // Unknown optional non-transitive attributes are quietly ignored (RFC 4271 5); transitive ones are kept.
      if (flags & AttrFlag.Transitive) out.attributes.push({ kind: 'unknown', flags, code, value: Buffer.from(value.rest()) });
      continue;
    }
    const [kind, spec] = entry;
    // RFC 7606 3(c): conflicting Optional/Transitive bits make the attribute malformed.
    if ((flags & FLAG_MASK) !== spec.flags) {
      malformedAttribute(out, spec, code, `flags 0x${flags.toString(16)} conflict with 0x${spec.flags.toString(16)}`, r, start);
      continue;
    }
    try {
      const body = spec.decode(value, ctx);
      if (!value.done) throw new Malformed(`${value.remaining} trailing octets`);
      out.attributes.push({ kind, flags, ...body } as Attribute);
    } catch (e) {
      if (e instanceof MalformedNextHop) {
        out.withdrawnByError.push({ afi: e.afi, safi: e.safi, nlri: e.nlri });
        addProblem(out, ErrorAction.TreatAsWithdraw, code, `${spec.name}: ${e.message}`);
      } else if (e instanceof Malformed) malformedAttribute(out, spec, code, e.message, r, start);
      // The value reader overran: the value is shorter than its own structure says.
      else if (e instanceof BgpError && e.code === VALUE_OVERRUN.code && e.subcode === VALUE_OVERRUN.subcode)
        malformedAttribute(out, spec, code, e.message, r, start);
      else throw e;
    }
  }
  return out;
}

/**
 * A malformed attribute: the session reset (NOTIFICATION data = the attribute as received, from
 * `start` to the reader's position) or the attribute's RFC 7606 action.
 */
function malformedAttribute(out: DecodedAttributes, spec: AnySpec, code: number, reason: string, r: Reader, start: number): void {
  if (spec.onError === 'reset') {
    throw new BgpError(
      ErrorCode.UpdateMessage,
      UpdateSubcode.OptionalAttributeError,
      Buffer.from(r.sliceFrom(start)),
      `${spec.name}: ${reason}`,
    );
  }
  addProblem(out, spec.onError, code, `${spec.name}: ${reason}`);
}

/** Encodes attributes in the order given; extended length is used when the flag asks or the value needs it. */
export function encodeAttributes(w: Writer, attributes: readonly Attribute[], ctx: CodecContext): void {
  for (const a of attributes) encodeAttribute(w, a, ctx);
}

export function encodeAttribute(w: Writer, a: Attribute, ctx: CodecContext): void {
  const body = new Writer(64);
  if (a.kind === 'unknown') body.bytes(a.value);
  else (TABLE[a.kind] as AnySpec).encode(body, a as never, ctx);
  const value = body.toBuffer();
  const extended = (a.flags & AttrFlag.ExtendedLength) !== 0 || value.length > 255;
  w.u8(extended ? a.flags | AttrFlag.ExtendedLength : a.flags).u8(attributeCode(a));
  if (extended) w.u16(value.length);
  else w.u8(value.length);
  w.bytes(value);
}
