/**
 * JSON views of a speaker for the admin API: what `gobgp neighbor`, `gobgp global` and
 * `gobgp global rib` show, plus what an operator debugging a session needs.
 */
import type { Family } from '../codec/constants';
import { Origin } from '../codec/constants';
import type { Speaker } from '../speaker/speaker';
import type { Path } from '../rib/path';
import { formatAsPath } from '../rib/as-path';
import { State } from '../fsm/states';
import type { BfdSessionView } from '../bfd/session';

export interface NeighborView {
  address: string;
  asn: number;
  state: State;
  /** Seconds since the session last went up or down. */
  uptime: number;
  routerId?: string;
  hostname?: string;
  localAddress?: string;
  holdTime?: number;
  keepaliveTime?: number;
  families: Family[];
  capabilities: string[];
  received: number;
  accepted: number;
  advertised: number;
  messages: { received: Record<string, number>; sent: Record<string, number> };
  notifications: { sent: Record<string, number>; received: Record<string, number> };
  flaps: number;
  /** Routes withheld from this peer: their attributes cannot be encoded for it (too long). */
  routesNotSent: number;
  /** Incoming connections refused at once (session already Established, or two being set up). */
  connectionsRefused: number;
  /** Prefix limit per family (max-prefix), when set. */
  maxPrefixes?: number;
  lastError?: string;
  passive: boolean;
  description?: string;
  /** The BFD session guarding this one (RFC 5880), when configured and started. */
  bfd?: BfdSessionView;
}

export interface PathView {
  prefix: string;
  family: Family;
  nextHop: string;
  asPath: string;
  origin: 'i' | 'e' | '?';
  localPref?: number;
  med?: number;
  communities?: string[];
  largeCommunities?: string[];
  atomicAggregate?: boolean;
  aggregator?: string;
  originatorId?: string;
  clusterList?: string[];
  /** Peer address, or "local" for routes we originate. */
  source: string;
  /** Seconds since this path arrived. */
  age: number;
  best: boolean;
  reason?: string;
  accepted: boolean;
  rejectReason?: string;
  /** Set by the embedding program (the agent) for best paths it puts in the kernel, or does not. */
  fib?: FibStatus;
}

/** Whether a best path is in the forwarding table, and if not why: the embedder's business, reported here. */
export type FibStatus = { installed: true } | { installed: false; reason: string };

/** Asked per best path learned from a peer (the agent answers from its last route sync). */
export type FibLookup = (prefix: string) => FibStatus | undefined;

export interface GlobalView {
  asn: number;
  routerId: string;
  listenPort?: number;
  listenAddresses: string[];
  uptime: number;
  neighbors: number;
  established: number;
  prefixes: { originated: number; locRib: Record<string, number> };
}

const ORIGIN: Record<number, PathView['origin']> = { [Origin.Igp]: 'i', [Origin.Egp]: 'e', [Origin.Incomplete]: '?' };
const seconds = (sinceMs: number): number => Math.max(0, Math.floor((Date.now() - sinceMs) / 1000));

export function neighborViews(s: Speaker): NeighborView[] {
  return [...s.peers.values()].map((p) => {
    const n = p.negotiated;
    const counts = s.rib.counts(p.address);
    const v: NeighborView = {
      address: p.address,
      asn: p.settings.asn,
      state: p.state,
      uptime: seconds(p.lastTransition),
      families: n?.families ?? [],
      capabilities: n?.peerCapabilities.map((c) => (c.kind === 'unknown' ? `unknown(${c.code})` : c.kind)) ?? [],
      received: counts.received,
      accepted: counts.accepted,
      advertised: s.advertisedCount(p.address),
      messages: { received: { ...p.counters.received }, sent: { ...p.counters.sent } },
      notifications: { sent: { ...p.counters.notificationsSent }, received: { ...p.counters.notificationsReceived } },
      flaps: p.flaps,
      routesNotSent: p.counters.routesNotSent,
      connectionsRefused: p.counters.connectionsRefused,
      passive: p.settings.passive,
    };
    if (n) Object.assign(v, { routerId: n.peerRouterId, holdTime: n.holdTime, keepaliveTime: n.keepaliveTime });
    if (n?.hostname) v.hostname = n.hostname;
    if (p.localAddress) v.localAddress = p.localAddress;
    if (p.lastError) v.lastError = p.lastError;
    if (p.settings.description) v.description = p.settings.description;
    if (p.settings.maxPrefixes) v.maxPrefixes = p.settings.maxPrefixes;
    const bfd = s.bfdSession(p.address);
    if (bfd) v.bfd = bfd.view();
    return v;
  });
}

function community(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}

export function pathView(prefix: string, p: Path, best: boolean, reason?: string): PathView {
  const a = p.attrs;
  const v: PathView = {
    prefix,
    family: p.family,
    nextHop: a.nextHop || (p.source ? '' : 'self'),
    asPath: formatAsPath(a.asPath),
    origin: ORIGIN[a.origin] ?? '?',
    source: p.source?.address ?? 'local',
    age: Math.max(0, Math.floor(Date.now() / 1000) - p.sinceSeconds),
    best,
    accepted: p.accepted,
  };
  if (best && reason) v.reason = reason;
  if (a.localPref !== undefined) v.localPref = a.localPref;
  if (a.med !== undefined) v.med = a.med;
  if (a.communities?.length) v.communities = a.communities.map(community);
  if (a.largeCommunities?.length) v.largeCommunities = a.largeCommunities.map((l) => l.join(':'));
  if (a.atomicAggregate) v.atomicAggregate = true;
  if (a.aggregator) v.aggregator = `${a.aggregator.asn}:${a.aggregator.address}`;
  if (a.originatorId) v.originatorId = a.originatorId;
  if (a.clusterList?.length) v.clusterList = a.clusterList;
  if (p.rejectReason) v.rejectReason = p.rejectReason;
  return v;
}

/** The Loc-RIB: every path per prefix, best first; best paths from peers carry their FIB status when known. */
export function ribView(s: Speaker, family?: Family, fib?: FibLookup): PathView[] {
  const out: PathView[] = [];
  for (const d of s.rib.destinations(family).sort((x, y) => comparePrefixes(x.prefix, y.prefix))) {
    const paths = [...d.paths].sort((x, y) => Number(y === d.best) - Number(x === d.best));
    for (const p of paths) {
      const v = pathView(d.prefix, p, p === d.best, d.reason);
      const status = p === d.best && p.source ? fib?.(d.prefix) : undefined;
      if (status) v.fib = status;
      out.push(v);
    }
  }
  return out;
}

/** What one neighbor sent us (Adj-RIB-In), accepted or not. */
export function adjInView(s: Speaker, address: string, family?: Family): PathView[] {
  return s.rib.adjRibIn(address, family).map(([prefix, p]) => pathView(prefix, p, s.rib.best(prefix) === p));
}

export function globalView(s: Speaker): GlobalView {
  const locRib: Record<string, number> = s.rib.destinationCounts();
  const listen = s.options.listen;
  const v: GlobalView = {
    asn: s.options.asn,
    routerId: s.options.routerId,
    listenAddresses: listen ? [listen.address ?? '0.0.0.0'] : [],
    uptime: seconds(s.startedAt),
    neighbors: s.peers.size,
    established: [...s.peers.values()].filter((p) => p.state === State.Established).length,
    prefixes: { originated: s.originatedCount(), locRib },
  };
  if (s.listenPort !== undefined) v.listenPort = s.listenPort;
  return v;
}

/**
 * Orders 10.2.0.0/24 before 10.10.0.0/24: runs of digits compare as numbers. Written out rather
 * than localeCompare(..., { numeric: true }), whose ICU collator data would stay in memory.
 */
function comparePrefixes(a: string, b: string): number {
  const x = a.split(/(\d+)/);
  const y = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const d = i % 2 === 1 ? Number(x[i]) - Number(y[i]) : 0;
    return d || (x[i]! < y[i]! ? -1 : 1);
  }
  return x.length - y.length;
}
