/**
 * Best path selection, RFC 4271 9.1.2.2 and the usual tie-breakers, as a chain of elimination
 * steps (one function each, GoBGP destination.go style). Each step keeps only the candidates that
 * are best by its criterion; the step that leaves one candidate is the reason stored with the
 * best path. Elimination, not pairwise comparison, because MED only compares routes from the
 * same neighbouring AS and is not transitive.
 */
import { pathLength, firstAs } from './as-path';
import type { Path } from './path';
import { ipv4ToNumber, parseIp } from '../../net';

export enum BestPathReason {
  OnlyPath = 'only path',
  LocalOrigin = 'locally originated',
  LocalPref = 'local preference',
  AsPathLength = 'AS path length',
  Origin = 'origin',
  Med = 'MED',
  EbgpOverIbgp = 'eBGP over iBGP',
  RouterId = 'router ID',
  ClusterListLength = 'cluster list length',
  PeerAddress = 'peer address',
}

/** LOCAL_PREF assumed when absent (RFC 4271 5.1.5 leaves it to us; 100 as everyone uses). */
export const DEFAULT_LOCAL_PREF = 100;

type Step = [BestPathReason, (candidates: Path[], localAsn: number) => Path[]];

function keepMin(candidates: Path[], score: (p: Path) => number): Path[] {
  let best = Infinity;
  for (const p of candidates) best = Math.min(best, score(p));
  return candidates.filter((p) => score(p) === best);
}

const localPref = (p: Path): number =>
  p.source === undefined || p.source.ibgp ? (p.attrs.localPref ?? DEFAULT_LOCAL_PREF) : DEFAULT_LOCAL_PREF;

/** RFC 4271 9.1.2.2 (c): the AS a route came from, or our own for iBGP-originated routes. */
function neighborAs(p: Path, localAsn: number): number {
  return firstAs(p.attrs.asPath) ?? localAsn;
}

function compareByMed(candidates: Path[], localAsn: number): Path[] {
  // Remove a route if another route from the same neighbouring AS has a lower MED (missing = 0).
  const med = (p: Path): number => p.attrs.med ?? 0;
  return candidates.filter(
    (p) => !candidates.some((q) => q !== p && neighborAs(q, localAsn) === neighborAs(p, localAsn) && med(q) < med(p)),
  );
}

/** RFC 4456 9: the ORIGINATOR_ID stands in for the router ID of reflected routes. */
const routerIdOf = (p: Path): number => ipv4ToNumber(p.attrs.originatorId ?? p.source?.routerId ?? '0.0.0.0');

function peerAddressKey(p: Path): string {
  return p.source ? parseIp(p.source.address).toString('hex').padStart(32, '0') : '';
}

const STEPS: Step[] = [
  [BestPathReason.LocalOrigin, (c) => (c.some((p) => p.source === undefined) ? c.filter((p) => p.source === undefined) : c)],
  [BestPathReason.LocalPref, (c) => keepMin(c, (p) => -localPref(p))],
  [BestPathReason.AsPathLength, (c) => keepMin(c, (p) => pathLength(p.attrs.asPath))],
  [BestPathReason.Origin, (c) => keepMin(c, (p) => p.attrs.origin)],
  [BestPathReason.Med, compareByMed],
  [BestPathReason.EbgpOverIbgp, (c) => (c.some((p) => p.source && !p.source.ibgp) ? c.filter((p) => p.source && !p.source.ibgp) : c)],
  [BestPathReason.RouterId, (c) => keepMin(c, routerIdOf)],
  [BestPathReason.ClusterListLength, (c) => keepMin(c, (p) => p.attrs.clusterList?.length ?? 0)],
  [
    BestPathReason.PeerAddress,
    (c) => {
      const keys = c.map(peerAddressKey);
      const min = keys.reduce((a, b) => (b < a ? b : a));
      return c.filter((_, i) => keys[i] === min).slice(0, 1);
    },
  ],
];

export interface Selection {
  best: Path | undefined;
  reason: BestPathReason | undefined;
}

/** Picks the best of the accepted candidates for one prefix. */
export function selectBest(paths: readonly Path[], localAsn: number): Selection {
  let candidates = paths.filter((p) => p.accepted);
  if (candidates.length === 0) return { best: undefined, reason: undefined };
  if (candidates.length === 1) return { best: candidates[0], reason: BestPathReason.OnlyPath };
  for (const [reason, step] of STEPS) {
    candidates = step(candidates, localAsn);
    if (candidates.length === 1) return { best: candidates[0], reason };
  }
  return { best: candidates[0], reason: BestPathReason.PeerAddress };
}
