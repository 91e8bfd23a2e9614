/**
 * What the node's speaker should do, as a pure function of the agent's flags and the node's
 * desired state (as kernel-plan.ts is for the kernel): the neighbours with their settings, the
 * prefixes to originate, and the inputs of kube-router's export and import policies. routing.ts
 * applies a plan by difference; `neighbourChange` says per neighbour whether a change can be
 * made in place or needs the session restarted (as BIRD's reconfigure decides).
 */
import type { ExportDecision, ImportVerdict, NeighborInput, Path, Family, BfdSettings } from '../../bgp';
import type { AgentConfig } from '../config/agent-config';
import type { InternalPeer, LocalNode } from '../../controllers/nodes';
import type { AdvertisedVip } from '../../controllers/services';
import { containingPrefix, ipFamily } from '../../net';

export interface RoutingInputs {
  local: LocalNode;
  internalPeers: readonly InternalPeer[];
  vips: readonly AdvertisedVip[];
  /** Every service IP in the cluster: never imported from peers. */
  serviceIps: ReadonlySet<string>;
  /** Nodes in the cluster: sets the prefix limit of sessions between nodes. */
  clusterSize: number;
}

export type BgpPlanConfig = Pick<
  AgentConfig,
  | 'ipv4'
  | 'ipv6'
  | 'bgpPort'
  | 'bgpHoldTime'
  | 'peerRouters'
  | 'peerMultihopTtl'
  | 'advertisePodCidr'
  | 'overrideNextHop'
  | 'acceptDefaultRoute'
  | 'nodesFullMesh'
  | 'clusterAsn'
> &
  Partial<Pick<AgentConfig, 'bfd'>>;

/** The node's own AS: the cluster's in a full mesh, else kube-router.io/node.asn when set. */
export const speakerAsn = (c: Pick<AgentConfig, 'nodesFullMesh' | 'clusterAsn'>, local: Pick<LocalNode, 'asn'>): number =>
  c.nodesFullMesh ? c.clusterAsn : (local.asn ?? c.clusterAsn);

/**
 * The IP TTL toward an external peer, as GoBGP sets it for kube-router: an eBGP peer is one hop
 * away (TTL 1, so a session cannot form through routers by accident) unless
 * --peer-router-multihop-ttl (2 or more) says how far; iBGP sessions keep the system's TTL.
 */
export function externalTtl(multihopTtl: number | undefined, ourAsn: number, peerAsn: number): number | undefined {
  if (peerAsn === ourAsn) return undefined;
  return multihopTtl !== undefined && multihopTtl >= 2 ? multihopTtl : 1;
}

/** What kube-router's policies read; the speaker re-applies them when any of it changes. */
export interface PolicyInputs {
  podCidrs: readonly string[];
  vips: readonly string[];
  serviceIps: readonly string[];
  importReject: readonly string[];
  communities: readonly number[];
  prepend?: { asn: number; times: number };
  /** Addresses of other nodes (iBGP mesh or reflector peering). */
  internal: readonly string[];
  nodeIpv4?: string;
  nodeIpv6?: string;
  advertisePodCidr: boolean;
  overrideNextHop: boolean;
  acceptDefaultRoute: boolean;
}

export interface BgpPlan {
  neighbours: ReadonlyMap<string, NeighborInput>;
  originate: readonly { prefix: string; kind: 'pod' | 'vip' }[];
  policy: PolicyInputs;
}

/**
 * Prefix limit of a session with another node: a node sends its pod CIDR (a reflector all of
 * them), so four per node and family is generous, and 1,000 the floor. Only a peer gone mad
 * (or an attacker on its address) reaches it.
 */
export const internalPrefixLimit = (clusterSize: number): number => Math.max(1000, 4 * clusterSize);

const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort();

export function planBgp(c: BgpPlanConfig, inputs: RoutingInputs): BgpPlan {
  const local = inputs.local;
  const families: Family[] = [...(c.ipv4 ? (['ipv4-unicast'] as const) : []), ...(c.ipv6 ? (['ipv6-unicast'] as const) : [])];
  const localAddress = c.ipv4 ? local.ipv4 : local.ipv6;
  const ourAsn = speakerAsn(c, local);
  const common = { holdTime: c.bgpHoldTime, families, ...(c.ipv6 && local.ipv6 ? { nextHopIpv6: local.ipv6 } : {}) };
  const neighbours = new Map<string, NeighborInput>();
  const limit = internalPrefixLimit(inputs.clusterSize);
  for (const p of inputs.internalPeers) {
    neighbours.set(p.address, {
      address: p.address,
      asn: p.asn,
      port: c.bgpPort,
      ...(localAddress ? { localAddress } : {}),
      description: `node ${p.node}`,
      maxPrefixes: limit,
      ...(p.rrClient ? { routeReflectorClient: true } : {}),
      ...common,
    });
  }
  const internal = sorted(neighbours.keys());
  const globalPeers = new Set(c.peerRouters.map((p) => p.address));
  for (const p of [...c.peerRouters, ...local.peers]) {
    if (neighbours.has(p.address)) continue;
    const n: NeighborInput = { address: p.address, asn: p.asn, port: p.port, description: 'external', ...common };
    const localIp = (p as { localAddress?: string }).localAddress ?? localAddress;
    if (localIp) n.localAddress = localIp;
    if (p.password) n.password = p.password;
    const ttl = externalTtl(c.peerMultihopTtl, ourAsn, p.asn);
    if (ttl) n.ttl = ttl;
    if (p.maxPrefixes) n.maxPrefixes = p.maxPrefixes;
    // BFD as kube-router: --enable-bfd's timers for --peer-router-ips, a per-node peer's own
    // (kube-router.io/peers `bfd:`) for it.
    const bfd = globalPeers.has(p.address) ? c.bfd : (p as { bfd?: BfdSettings }).bfd;
    if (bfd) n.bfd = bfd;
    neighbours.set(p.address, n);
  }
  const vips = inputs.vips.map((v) => v.prefix);
  const pods = local.podCidrs.filter((p) => (ipFamily(p) === 6 ? c.ipv6 : c.ipv4));
  const originate = [
    ...pods.map((prefix) => ({ prefix, kind: 'pod' as const })),
    ...vips.filter((v) => !pods.includes(v)).map((prefix) => ({ prefix, kind: 'vip' as const })),
  ];
  const policy: PolicyInputs = {
    podCidrs: local.podCidrs,
    vips,
    serviceIps: sorted(inputs.serviceIps),
    importReject: local.importReject,
    communities: local.communities,
    ...(local.prepend ? { prepend: local.prepend } : {}),
    internal,
    ...(local.ipv4 ? { nodeIpv4: local.ipv4 } : {}),
    ...(local.ipv6 ? { nodeIpv6: local.ipv6 } : {}),
    advertisePodCidr: c.advertisePodCidr,
    overrideNextHop: c.overrideNextHop,
    acceptDefaultRoute: c.acceptDefaultRoute,
  };
  return { neighbours, originate, policy };
}

/** Settings a session can take without being restarted; any other change restarts it. */
const IN_PLACE: readonly (keyof NeighborInput)[] = ['maxPrefixes', 'description'];

export type NeighbourChange =
  { kind: 'add' | 'remove' | 'unchanged' } | { kind: 'restart'; fields: string[] } | { kind: 'inPlace'; fields: (keyof NeighborInput)[] };

/**
 * How to go from one neighbour's settings to the next, as BIRD's reconfigure: a new password,
 * hold time, address family, port or local address restarts the session (they are negotiated
 * or bound when it opens); a new prefix limit or description is applied to the running session.
 */
export function neighbourChange(old: NeighborInput | undefined, next: NeighborInput | undefined): NeighbourChange {
  if (!old) return { kind: next ? 'add' : 'unchanged' };
  if (!next) return { kind: 'remove' };
  const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])] as (keyof NeighborInput)[];
  const changed = keys.filter((k) => JSON.stringify(old[k]) !== JSON.stringify(next[k])).sort();
  if (changed.length === 0) return { kind: 'unchanged' };
  const restart = changed.filter((k) => !IN_PLACE.includes(k));
  return restart.length ? { kind: 'restart', fields: restart } : { kind: 'inPlace', fields: changed };
}

/** A stable text of the policy inputs: equal texts, equal policies. */
export const policyKey = (p: PolicyInputs): string => JSON.stringify(p);

/** Policy inputs with sets for the lookups the policies make per path and peer. */
export interface CompiledPolicy extends PolicyInputs {
  internalSet: ReadonlySet<string>;
  vipSet: ReadonlySet<string>;
  podSet: ReadonlySet<string>;
  serviceIpSet: ReadonlySet<string>;
}

export function compilePolicy(p: PolicyInputs): CompiledPolicy {
  return {
    ...p,
    internalSet: new Set(p.internal),
    vipSet: new Set(p.vips),
    podSet: new Set(p.podCidrs),
    serviceIpSet: new Set(p.serviceIps),
  };
}

export const DEFAULT_ROUTES: ReadonlySet<string> = new Set(['0.0.0.0/0', '::/0']);

/**
 * kube-router's import policy: service IPs are never taken from peers (every node originates
 * them), nor the default route (a router announcing 0.0.0.0/0 would take over the node's
 * uplink) unless --bgp-accept-default-route, nor the node's custom-import-reject prefixes.
 */
export function importVerdict(
  prefix: string,
  i: { serviceIps: ReadonlySet<string>; importReject: readonly string[]; acceptDefaultRoute: boolean },
): ImportVerdict {
  if (DEFAULT_ROUTES.has(prefix) && !i.acceptDefaultRoute) return 'default route (accepted only with --bgp-accept-default-route)';
  if (i.serviceIps.has(prefix)) return 'a service IP of this cluster';
  const reject = i.importReject.length ? containingPrefix(prefix, i.importReject) : undefined;
  if (reject) return `inside ${reject} (kube-router.io/node.bgp.customimportreject)`;
  return true;
}

/**
 * kube-router's export policy. Default deny: only what this node originates leaves it. Pod
 * CIDRs go to other nodes, and to external peers with --advertise-pod-cidr; service VIPs go to
 * external peers only, with the node's communities and AS path prepending. The next hop is the
 * node IP (kube-router originates its paths with it, and GoBGP keeps a local path's next hop)
 * except toward external peers with --override-nexthop: then the session's own address (they
 * differ on nodes with several interfaces). A route reflector (kube-router.io/rr.server) also
 * passes on what nodes told it to other nodes; the speaker applies RFC 4456 (which node gets what).
 */
export function exportDecision(p: CompiledPolicy, prefix: string, path: Pick<Path, 'source'>, peer: string): ExportDecision {
  if (path.source) return p.internalSet.has(path.source.address) && p.internalSet.has(peer) ? {} : 'deny';
  const isPod = p.podSet.has(prefix);
  const nodeIp = ipFamily(prefix) === 6 ? p.nodeIpv6 : p.nodeIpv4;
  if (p.internalSet.has(peer)) return !isPod ? 'deny' : nodeIp ? { nextHop: nodeIp } : {};
  if (!p.vipSet.has(prefix) && !(isPod && p.advertisePodCidr)) return 'deny';
  return {
    ...(p.communities.length ? { communities: [...p.communities] } : {}),
    ...(p.prepend ? { prepend: p.prepend } : {}),
    ...(nodeIp && !p.overrideNextHop ? { nextHop: nodeIp } : {}),
  };
}
