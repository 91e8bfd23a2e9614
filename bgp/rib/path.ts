/**
 * A route as the RIB keeps it: canonical prefix, family, the attributes that matter for the
 * decision and for re-advertisement (4-octet AS path already merged), and where it came from.
 * `fromWire` and `toWire` convert between these and the codec's attribute lists.
 */
import { ipFamily, type PrefixKey } from '../../net';
import { AttrFlag, Family, Origin, Afi, Safi } from '../codec/constants';
import { Attribute, AsPathSegment, attributeCode, defaultFlags } from '../codec/attributes';
import { needsAs4 } from './as-path';

/**
 * A field added here also goes into attributesKey below and into attributesHash and
 * sameAttributes (attr-sets.ts); test/bgp/rib/attr-sets.test.ts does not compile until it does.
 */
export interface PathAttributes {
  origin: Origin;
  asPath: AsPathSegment[];
  /** IPv4 or IPv6 global next hop; '' for routes we originate (filled in per peer). */
  nextHop: string;
  linkLocalNextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  extendedCommunities?: Buffer[];
  largeCommunities?: [number, number, number][];
  originatorId?: string;
  clusterList?: string[];
  /** Unknown optional transitive attributes, passed on with the Partial bit set (RFC 4271 5). */
  unknown?: { flags: number; code: number; value: Buffer }[];
}

/** Where a path came from; undefined source means we originated it. */
export interface PeerRef {
  address: string;
  asn: number;
  routerId: string;
  ibgp: boolean;
  /** A route reflection client of ours (RFC 4456). */
  client?: boolean;
}

/**
 * A path as received: what came with one UPDATE from one source. Every prefix of that UPDATE
 * shares the one object (its prefix is the table's key, not a field): a full table in packed
 * UPDATEs costs an object per UPDATE, not per route, and young collections have that many
 * fewer survivors to copy (bench/rib-load: 6-14% faster, 8 MiB less; docs/benchmarks.md).
 * Never changed once made.
 */
export interface Path {
  family: Family;
  attrs: PathAttributes;
  source: PeerRef | undefined;
  /**
   * Seconds since the epoch when this path arrived or was originated. Whole seconds fit a small
   * integer, which V8 stores in the object itself; milliseconds took a heap number per route.
   */
  sinceSeconds: number;
  /** False when import rejected it (loop, bad next hop): kept for "received", never best. */
  accepted: boolean;
  rejectReason?: string;
}

/** The family of a prefix; one given as a number (PrefixKey) is IPv4. */
export const familyOfPrefix = (prefix: PrefixKey): Family =>
  typeof prefix !== 'number' && ipFamily(prefix) === 6 ? 'ipv6-unicast' : 'ipv4-unicast';

/**
 * Builds the attributes of a route from a received UPDATE's attribute list (already RFC 7606
 * filtered). Next hop comes from NEXT_HOP for IPv4 or from the MP_REACH of the family.
 */
export function fromWire(attrs: readonly Attribute[], family: Family, options: { acrossAses?: boolean } = {}): PathAttributes {
  // Across ASes LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST mean nothing: left out as read, not deleted after.
  const local = !options.acrossAses;
  const out: PathAttributes = { origin: Origin.Incomplete, asPath: [], nextHop: '' };
  for (const a of attrs) {
    switch (a.kind) {
      case 'origin':
        out.origin = a.origin;
        break;
      case 'asPath':
        out.asPath = a.segments;
        break;
      case 'nextHop':
        if (family === 'ipv4-unicast' && !out.nextHop) out.nextHop = a.nextHop;
        break;
      case 'mpReach':
        if ((family === 'ipv4-unicast' ? Afi.Ipv4 : Afi.Ipv6) === a.afi && a.safi === Safi.Unicast) {
          out.nextHop = a.nextHops[0] ?? '';
          if (a.nextHops[1]) out.linkLocalNextHop = a.nextHops[1];
        }
        break;
      case 'med':
        out.med = a.med;
        break;
      case 'localPref':
        if (local) out.localPref = a.localPref;
        break;
      case 'atomicAggregate':
        out.atomicAggregate = true;
        break;
      case 'aggregator':
        out.aggregator = { asn: a.asn, address: a.address };
        break;
      case 'communities':
        out.communities = a.communities;
        break;
      case 'extendedCommunities':
        out.extendedCommunities = a.communities;
        break;
      case 'largeCommunities':
        out.largeCommunities = a.communities;
        break;
      case 'originatorId':
        if (local) out.originatorId = a.originatorId;
        break;
      case 'clusterList':
        if (local) out.clusterList = a.clusterIds;
        break;
      case 'unknown':
        (out.unknown ??= []).push({ flags: a.flags, code: a.code, value: a.value });
        break;
      // AS4_PATH/AS4_AGGREGATOR are folded in by import; MP_UNREACH carries no attributes.
      case 'as4Path':
      case 'as4Aggregator':
      case 'mpUnreach':
        break;
    }
  }
  return out;
}

/**
 * The attribute list for an UPDATE carrying these attributes, without NLRI-bearing attributes
 * (the update builder adds NEXT_HOP or MP_REACH per family). Ordered by type code (RFC 4271 5).
 * Toward a peer without 4-octet AS support (`as4` false), 4-octet ASNs also go into AS4_PATH
 * and AS4_AGGREGATOR (RFC 6793 4.2.2); the codec writes AS_TRANS in their 2-octet places.
 */
export function toWire(a: PathAttributes, as4 = true): Attribute[] {
  const out: Attribute[] = [
    { kind: 'origin', flags: defaultFlags('origin'), origin: a.origin },
    { kind: 'asPath', flags: defaultFlags('asPath'), segments: a.asPath },
  ];
  if (a.med !== undefined) out.push({ kind: 'med', flags: defaultFlags('med'), med: a.med });
  if (a.localPref !== undefined) out.push({ kind: 'localPref', flags: defaultFlags('localPref'), localPref: a.localPref });
  if (a.atomicAggregate) out.push({ kind: 'atomicAggregate', flags: defaultFlags('atomicAggregate') });
  if (a.aggregator) out.push({ kind: 'aggregator', flags: defaultFlags('aggregator'), ...a.aggregator });
  if (a.communities?.length) out.push({ kind: 'communities', flags: defaultFlags('communities'), communities: a.communities });
  if (a.originatorId) out.push({ kind: 'originatorId', flags: defaultFlags('originatorId'), originatorId: a.originatorId });
  if (a.clusterList?.length) out.push({ kind: 'clusterList', flags: defaultFlags('clusterList'), clusterIds: a.clusterList });
  if (a.extendedCommunities?.length) {
    out.push({ kind: 'extendedCommunities', flags: defaultFlags('extendedCommunities'), communities: a.extendedCommunities });
  }
  if (a.largeCommunities?.length)
    out.push({ kind: 'largeCommunities', flags: defaultFlags('largeCommunities'), communities: a.largeCommunities });
  if (!as4 && needsAs4(a.asPath)) out.push({ kind: 'as4Path', flags: defaultFlags('as4Path'), segments: a.asPath });
  if (!as4 && a.aggregator && a.aggregator.asn > 0xffff)
    out.push({ kind: 'as4Aggregator', flags: defaultFlags('as4Aggregator'), ...a.aggregator });
  for (const u of a.unknown ?? []) out.push({ kind: 'unknown', flags: u.flags | AttrFlag.Partial, code: u.code, value: u.value });
  return out.sort((x, y) => attributeCode(x) - attributeCode(y));
}

/**
 * A string identifying the attributes, for equality and for packing prefixes that share them
 * into one UPDATE. Computed once per exported attribute set. Joined, not concatenated:
 * concatenation builds a tree of pieces (32 bytes each) that V8 keeps for as long as the string
 * lives, Map keys included: six per key, 19 MiB for 100,000 distinct sets; a join is one flat
 * string.
 */
export function attributesKey(a: PathAttributes, pathKey = asPathKey(a.asPath)): string {
  const parts: (string | number)[] = [
    a.origin,
    a.nextHop,
    a.linkLocalNextHop ?? '',
    a.med ?? '',
    a.localPref ?? '',
    a.atomicAggregate ? 1 : 0,
    pathKey,
  ];
  if (a.aggregator) parts.push(`ag${a.aggregator.asn}@${a.aggregator.address}`);
  if (a.communities) parts.push(`c${a.communities.join(',')}`);
  if (a.extendedCommunities) parts.push(`x${a.extendedCommunities.map((c) => c.toString('hex')).join(',')}`);
  if (a.largeCommunities) parts.push(`l${a.largeCommunities.map((l) => l.join(':')).join(',')}`);
  if (a.originatorId) parts.push(`o${a.originatorId}`);
  if (a.clusterList) parts.push(`cl${a.clusterList.join(',')}`);
  if (a.unknown) parts.push(`u${a.unknown.map((u) => `${u.flags}.${u.code}.${u.value.toString('hex')}`).join(',')}`);
  return parts.join('|');
}

/** The AS path as text: equal paths, equal keys (interning). */
export function asPathKey(segments: readonly AsPathSegment[]): string {
  let k = '';
  for (const s of segments) k += `${s.type}:${s.asns.join(',')};`;
  return k;
}

/**
 * A copy of `a` without the attributes in `drop`. Built rather than `delete`d: deleting a
 * property turns an object into a slow hash table, about 400 bytes more for every route.
 */
export function omitAttrs(a: PathAttributes, drop: readonly (keyof PathAttributes)[]): PathAttributes {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(a)) if (!drop.includes(k as keyof PathAttributes)) out[k] = a[k as keyof PathAttributes];
  return out as unknown as PathAttributes;
}
