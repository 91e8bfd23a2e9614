/**
 * What we tell a peer about a best path (RFC 4271 5.1, 9.2): nothing back to where it came from,
 * no iBGP-learned route to another iBGP peer (split horizon) unless we reflect it (RFC 4456),
 * our AS prepended and ourselves as next hop toward eBGP, LOCAL_PREF only inside the AS, MED not
 * carried to a third AS.
 */
import type { Family } from '../codec/constants';
import { containsAs, prepend } from '../rib/as-path';
import { omitAttrs, type Path, type PathAttributes } from '../rib/path';
import { DEFAULT_LOCAL_PREF } from '../rib/decision';

export interface ExportTarget {
  address: string;
  asn: number;
  ibgp: boolean;
  /** A route reflection client of ours (RFC 4456). */
  client?: boolean;
  families: readonly Family[];
  /** Our next hop toward this peer for a family (next-hop-self); undefined if we have none. */
  nextHop(family: Family): string | undefined;
}

export interface ExportLocal {
  asn: number;
  /** Our cluster ID, when we reflect routes between iBGP peers (RFC 4456). */
  clusterId?: string;
}

export function exportPath(path: Path, target: ExportTarget, local: ExportLocal): PathAttributes | undefined {
  if (!target.families.includes(path.family)) return undefined;
  const src = path.source;
  if (src && src.address === target.address) return undefined;
  const reflect = !!src?.ibgp && target.ibgp;
  // RFC 4456 6: from a client to every other peer, from a non-client to clients only.
  if (reflect && (local.clusterId === undefined || (!src.client && !target.client))) return undefined;
  const a = path.attrs;

  if (!target.ibgp) {
    // Sender-side loop prevention: the peer would drop a path that already holds its AS.
    if (containsAs(a.asPath, target.asn)) return undefined;
    const nextHop = target.nextHop(path.family);
    if (!nextHop) return undefined;
    // RFC 4271 5.1.4: a MED received from one AS is not passed to another.
    const out = omitAttrs(a, ['linkLocalNextHop', 'localPref', 'originatorId', 'clusterList', ...(src ? (['med'] as const) : [])]);
    out.asPath = prepend(a.asPath, local.asn);
    out.nextHop = nextHop;
    return out;
  }

  // iBGP: keep the AS path and the eBGP next hop (RFC 4271 5.1.3); ours for our own routes.
  const nextHop = src && a.nextHop ? a.nextHop : target.nextHop(path.family);
  if (!nextHop) return undefined;
  const out = omitAttrs(a, ['linkLocalNextHop']);
  out.nextHop = nextHop;
  out.localPref = a.localPref ?? DEFAULT_LOCAL_PREF;
  if (reflect) {
    // RFC 4456 8: who put the route into the AS, and each cluster it went through.
    out.originatorId = a.originatorId ?? src.routerId;
    out.clusterList = [local.clusterId!, ...(a.clusterList ?? [])];
  }
  return out;
}

/**
 * Whether two learned paths of one source and family export alike toward an eBGP peer: their
 * attributes differ at most in what that export drops or replaces (MED, LOCAL_PREF, the next
 * hops, ORIGINATOR_ID, CLUSTER_LIST). Lists are compared by identity (AS paths are interned),
 * so equal copies may answer false; a true answer is always right.
 */
export function sameEbgpExport(a: PathAttributes, b: PathAttributes): boolean {
  return (
    a.origin === b.origin &&
    a.asPath === b.asPath &&
    a.atomicAggregate === b.atomicAggregate &&
    a.aggregator?.asn === b.aggregator?.asn &&
    a.aggregator?.address === b.aggregator?.address &&
    a.communities === b.communities &&
    a.extendedCommunities === b.extendedCommunities &&
    a.largeCommunities === b.largeCommunities &&
    a.unknown === b.unknown
  );
}
