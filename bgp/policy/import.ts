/**
 * From a received UPDATE to routes for the Adj-RIB-In: withdrawals (classic, MP_UNREACH, and
 * RFC 7606 treat-as-withdraw), the real AS path of a 2-octet peer (RFC 6793), what eBGP may not
 * tell us (LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST), and what makes a route unusable: our AS in
 * the path, our router ID as originator (RFC 4456), a next hop no one can forward to.
 */
import { AS_TRANS, Family, afiSafiOf, familyOf } from '../codec/constants';
import { ErrorAction } from '../codec/error-handling';
import type { ReceivedUpdate } from '../codec/messages';
import type { Attribute } from '../codec/attributes';
import { containsAs, firstAs, mergeAs4Path } from '../rib/as-path';
import { ipv4Value, parseIp, type PrefixKey } from '../../net';
import { fromWire, PathAttributes, PeerRef } from '../rib/path';
import type { RouteInput } from '../rib/rib';

export interface ImportContext {
  localAsn: number;
  routerId: string;
  /** Our cluster ID when we reflect routes (RFC 4456); defaults to the router ID. */
  clusterId?: string;
  peer: PeerRef;
  /** The session negotiated 4-octet AS numbers. */
  as4: boolean;
  families: readonly Family[];
  /** RFC 4271 6.3: an eBGP route must start with the peer's AS (FRR's default, too). */
  enforceFirstAs: boolean;
}

export interface ImportResult {
  /** Per family and kind, the UPDATE's prefixes as decoded (RouteInput). */
  routes: RouteInput[];
  /** Things worth a log line: problems RFC 7606 handled, families not negotiated. */
  notes: string[];
  /** The UPDATE was an End-of-RIB marker (RFC 4724 2) for this family. */
  endOfRib?: Family;
}

export function importUpdate(u: ReceivedUpdate, ctx: ImportContext): ImportResult {
  const routes: RouteInput[] = [];
  const notes = u.problems.map((p) => `RFC 7606 ${ErrorAction[p.action]}: ${p.reason}`);
  const usable = (family: Family | undefined, what: string): family is Family => {
    if (family && ctx.families.includes(family)) return true;
    notes.push(`ignoring ${what} of a family not negotiated (${family ?? 'unknown'})`);
    return false;
  };
  const withdraw = (prefixes: readonly PrefixKey[]): void => {
    if (prefixes.length) routes.push({ prefixes, attrs: undefined });
  };

  if (u.withdrawn.length && usable('ipv4-unicast', 'withdrawn routes')) withdraw(u.withdrawn);
  for (const e of u.withdrawnByError) if (usable(familyOf(e.afi, e.safi), 'MP_REACH_NLRI')) withdraw(e.nlri);
  const announced: [Family, PrefixKey[]][] = [];
  if (u.nlri.length && usable('ipv4-unicast', 'NLRI')) announced.push(['ipv4-unicast', u.nlri]);
  for (const a of u.attributes) {
    if (a.kind === 'mpUnreach' && a.withdrawn.length && usable(familyOf(a.afi, a.safi), 'MP_UNREACH_NLRI')) withdraw(a.withdrawn);
    if (a.kind === 'mpReach' && a.nlri.length && usable(familyOf(a.afi, a.safi), 'MP_REACH_NLRI'))
      announced.push([familyOf(a.afi, a.safi)!, a.nlri]);
  }

  const result: ImportResult = { routes, notes };
  if (u.withdrawn.length === 0 && u.nlri.length === 0 && u.attributes.length === 0) result.endOfRib = 'ipv4-unicast';
  const eorMp =
    u.attributes.length === 1 && u.attributes[0]!.kind === 'mpUnreach' && u.attributes[0]!.withdrawn.length === 0
      ? u.attributes[0]
      : undefined;
  if (eorMp?.kind === 'mpUnreach' && u.nlri.length === 0 && u.withdrawn.length === 0) result.endOfRib = familyOf(eorMp.afi, eorMp.safi);

  if (u.action === ErrorAction.TreatAsWithdraw) {
    for (const [, prefixes] of announced) withdraw(prefixes);
    return result;
  }
  const shared = baseAttributes(u.attributes, ctx);
  for (let i = 0; i < announced.length; i++) {
    const [family, prefixes] = announced[i]!;
    // One object per UPDATE in the usual case: the last family takes the base itself.
    const attrs = i === announced.length - 1 ? shared : { ...shared };
    setNextHop(attrs, u.attributes, family);
    const malformed = malformedReason(attrs, family, ctx);
    if (malformed) {
      // RFC 7606: a semantically broken path is treat-as-withdraw, not a session reset.
      notes.push(`treat-as-withdraw: ${malformed}`);
      withdraw(prefixes);
      continue;
    }
    const reject = rejectReason(attrs, ctx);
    routes.push(reject ? { prefixes, attrs, accepted: false, rejectReason: reject } : { prefixes, attrs });
  }
  return result;
}

function baseAttributes(attrs: readonly Attribute[], ctx: ImportContext): PathAttributes {
  // RFC 7606 7.5 and RFC 4456 8: LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST mean nothing across ASes.
  const a = fromWire(attrs, 'ipv4-unicast', { acrossAses: !ctx.peer.ibgp });
  if (!ctx.as4) {
    // RFC 6793 4.2.3: a 2-octet peer carries the real path in AS4_PATH / AS4_AGGREGATOR.
    const as4Path = attrs.find((x) => x.kind === 'as4Path');
    if (as4Path?.kind === 'as4Path') a.asPath = mergeAs4Path(a.asPath, as4Path.segments);
    const as4Agg = attrs.find((x) => x.kind === 'as4Aggregator');
    if (as4Agg?.kind === 'as4Aggregator' && a.aggregator?.asn === AS_TRANS) a.aggregator = { asn: as4Agg.asn, address: as4Agg.address };
  }
  return a;
}

/** Sets the next hop of one family: NEXT_HOP for classic IPv4 NLRI, else that family's MP_REACH. */
function setNextHop(out: PathAttributes, attrs: readonly Attribute[], family: Family): void {
  const { afi } = afiSafiOf(family);
  for (const a of attrs) {
    if (a.kind === 'mpReach' && a.afi === afi && a.nextHops.length) {
      out.nextHop = a.nextHops[0]!;
      if (a.nextHops[1]) out.linkLocalNextHop = a.nextHops[1];
      return;
    }
  }
  const nh = family === 'ipv4-unicast' ? attrs.find((a) => a.kind === 'nextHop') : undefined;
  out.nextHop = nh?.kind === 'nextHop' ? nh.nextHop : '';
}

/** Why no one can forward to this next hop (RFC 4271 6.3 semantic check), if so. */
function unusableNextHop(nextHop: string): string | undefined {
  // IPv4, the common case, as a number: no buffer per UPDATE.
  const v4 = ipv4Value(nextHop);
  if (v4 !== undefined) {
    if (v4 === 0) return 'unspecified';
    if (v4 >= 0xe0000000) return v4 === 0xffffffff ? 'broadcast' : 'multicast or reserved';
    return undefined;
  }
  let b: Buffer;
  try {
    b = parseIp(nextHop);
  } catch {
    return 'missing or not an address';
  }
  if (b.every((x) => x === 0)) return 'unspecified';
  if (b.length === 4 && b[0]! >= 224) return b.every((x) => x === 255) ? 'broadcast' : 'multicast or reserved';
  if (b.length === 16 && b[0] === 0xff) return 'multicast';
  return undefined;
}

/** Reasons a path is malformed (treat-as-withdraw): RFC 4271 6.3 first-AS and next-hop checks. */
function malformedReason(a: PathAttributes, family: Family, ctx: ImportContext): string | undefined {
  if (!ctx.peer.ibgp && ctx.enforceFirstAs && a.asPath.length > 0 && firstAs(a.asPath) !== ctx.peer.asn) {
    return `AS_PATH starts with ${firstAs(a.asPath) ?? 'an AS_SET'}, not the peer's AS ${ctx.peer.asn}`;
  }
  if (!ctx.peer.ibgp && ctx.enforceFirstAs && a.asPath.length === 0) return 'empty AS_PATH from an eBGP peer';
  const unusable = unusableNextHop(a.nextHop);
  if (unusable) return `next hop ${JSON.stringify(a.nextHop)} for ${family}: ${unusable}`;
  return undefined;
}

/** Reasons to keep a path but never use it (RFC 4271 9.1.2 loop detection, RFC 4456 8). */
function rejectReason(a: PathAttributes, ctx: ImportContext): string | undefined {
  if (containsAs(a.asPath, ctx.localAsn)) return `AS loop: AS_PATH contains our AS ${ctx.localAsn}`;
  if (a.originatorId === ctx.routerId) return 'ORIGINATOR_ID is our router ID';
  if (a.clusterList?.includes(ctx.clusterId ?? ctx.routerId)) return 'CLUSTER_LIST contains our cluster ID';
  return undefined;
}

/**
 * Splits routes that share attributes into runs of one verdict: a reason to reject, or
 * undefined to accept. Rejected ones are kept, marked (RFC 4271 9.1.2 leaves them out of the
 * decision), so a changed policy can take them in again.
 */
export function splitByVerdict(r: RouteInput, verdict: (prefix: PrefixKey) => string | undefined): RouteInput[] {
  const { prefixes, attrs } = r;
  const out: RouteInput[] = [];
  let start = 0;
  let reason = prefixes.length ? verdict(prefixes[0]!) : undefined;
  for (let i = 1; i <= prefixes.length; i++) {
    const next = i < prefixes.length ? verdict(prefixes[i]!) : undefined;
    if (i < prefixes.length && next === reason) continue;
    // One verdict for all (the usual case): the decoded array itself, not a copy.
    const run = start === 0 && i === prefixes.length ? prefixes : prefixes.slice(start, i);
    out.push(reason === undefined ? { prefixes: run, attrs } : { prefixes: run, attrs, accepted: false, rejectReason: reason });
    start = i;
    reason = next;
  }
  return out;
}
