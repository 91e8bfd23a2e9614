/**
 * The agent's BGP: one speaker per node, configured from the agent's flags and this node's
 * desired state. Peers (other nodes, external routers) and originated prefixes (pod CIDRs,
 * service VIPs) are applied by difference; export and import follow kube-router's policies:
 * pod CIDRs to nodes, and to external peers with --advertise-pod-cidr; service VIPs to external
 * peers only, with the node's communities and AS path prepending; service IPs and the node's
 * custom-import-reject prefixes are never taken from peers; nothing learned is passed on.
 */
import crypto from 'node:crypto';
import {
  Speaker,
  tcpTransports,
  type NeighborInput,
  type ExportDecision,
  type ImportVerdict,
  type Peer,
  type Path,
  type Family,
  type Logger,
} from '../../bgp';
import type { AgentConfig } from '../config/agent-config';
import type { InternalPeer, LocalNode } from '../../controllers/nodes';
import type { AdvertisedVip } from '../../controllers/services';
import type { LearnedRoute } from './kernel-plan';
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

/**
 * Prefix limit of a session with another node: a node sends its pod CIDR (a reflector all of
 * them), so four per node and family is generous, and 1,000 the floor. Only a peer gone mad
 * (or an attacker on its address) reaches it.
 */
export const internalPrefixLimit = (clusterSize: number): number => Math.max(1000, 4 * clusterSize);

/** The part of a neighbour's settings whose change restarts its session (the limit changes in place). */
const sessionKey = (n: NeighborInput): string => JSON.stringify({ ...n, maxPrefixes: undefined });

/** kube-router's "generate": a stable router ID from the node name (for IPv6-only nodes). */
export function generateRouterId(nodeName: string): string {
  const h = crypto.createHash('sha256').update(nodeName).digest();
  return [h[0]! | 1, h[1], h[2], h[3]].join('.');
}

const DEFAULT_ROUTES = new Set(['0.0.0.0/0', '::/0']);

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

export class Routing {
  readonly speaker: Speaker;
  private readonly internal = new Set<string>();
  private readonly applied = new Map<string, string>();
  private inputs: RoutingInputs;
  private policyKey = '';
  private warnedReflector = false;
  /** "peer prefix" of default routes refused, so each is logged once. */
  private readonly refusedDefaults = new Set<string>();
  private readonly originatedPods = new Set<string>();
  readonly startedAt = Date.now();

  constructor(
    private readonly config: AgentConfig,
    local: LocalNode,
    private readonly log: Logger,
    /** Told of each prefix we start or stop originating (kube-router's advertisement types). */
    private readonly onAdvertise: (type: 'pod-route' | 'withdraw-pod-route' | 'advertise-vip' | 'withdraw-vip') => void = () => undefined,
  ) {
    this.inputs = { local, internalPeers: [], vips: [], serviceIps: new Set(), clusterSize: 1 };
    const asn = config.nodesFullMesh ? config.clusterAsn : (local.asn ?? config.clusterAsn);
    const routerId = config.routerId === 'generate' ? generateRouterId(local.name) : (config.routerId ?? local.ipv4);
    if (!routerId) throw new Error(`node ${local.name} has no IPv4 address: give --router-id (an IPv4 address, or "generate")`);
    const listen = [
      ...new Set([
        ...(config.ipv4 && local.ipv4 ? [local.ipv4] : []),
        ...(config.ipv6 && local.ipv6 ? [local.ipv6] : []),
        ...local.localAddresses,
      ]),
    ];
    const gr = config.gracefulRestart;
    this.speaker = new Speaker({
      asn,
      routerId,
      listen: { addresses: listen, port: config.bgpPort },
      holdTime: config.bgpHoldTime,
      connectRetry: 10,
      hostname: local.name,
      // Kernel routes outlive a restart of the agent: the forwarding state is preserved.
      gracefulRestart: gr ? { restartTime: gr.restartTime, restarting: false, preserved: true } : undefined,
      transports: tcpTransports,
      log,
      exportPolicy: (path, peer) => this.exportDecision(path, peer),
      importPolicy: (prefix, peer) => this.importVerdict(prefix, peer.address),
    });
  }

  /** 'internal' for another node (iBGP mesh or reflector peering), 'external' otherwise. */
  peerType(address: string): 'internal' | 'external' {
    return this.internal.has(address) ? 'internal' : 'external';
  }

  get asn(): number {
    return this.speaker.options.asn;
  }

  start(): Promise<void> {
    return this.speaker.start();
  }

  async stop(): Promise<void> {
    await this.speaker.stop();
  }

  private families(): Family[] {
    return [...(this.config.ipv4 ? (['ipv4-unicast'] as const) : []), ...(this.config.ipv6 ? (['ipv6-unicast'] as const) : [])];
  }

  /** Applies desired peers, prefixes and policy inputs; only differences reach the speaker. */
  sync(inputs: RoutingInputs): void {
    this.inputs = inputs;
    const local = inputs.local;
    if (local.rrServer !== undefined && !this.warnedReflector) {
      // Peer selection follows the rr annotations already; reflecting (RFC 4456) comes with the
      // production-peering work. Said once, so nobody mistakes it for a working reflector.
      this.warnedReflector = true;
      this.log.warn(
        { node: local.name, clusterId: local.rrServer },
        'kube-router.io/rr.server is set: this node peers with its route reflector clients but does not reflect routes between them yet',
      );
    }
    const localAddress = this.config.ipv4 ? local.ipv4 : local.ipv6;
    const common = {
      holdTime: this.config.bgpHoldTime,
      families: this.families(),
      ...(this.config.ipv6 && local.ipv6 ? { nextHopIpv6: local.ipv6 } : {}),
    };
    const desired = new Map<string, NeighborInput>();
    this.internal.clear();
    const internalLimit = internalPrefixLimit(inputs.clusterSize);
    for (const p of inputs.internalPeers) {
      desired.set(p.address, {
        address: p.address,
        asn: p.asn,
        port: this.config.bgpPort,
        localAddress,
        description: `node ${p.node}`,
        maxPrefixes: internalLimit,
        ...common,
      });
      this.internal.add(p.address);
    }
    const external = [...this.config.peerRouters, ...local.peers];
    for (const p of external) {
      if (desired.has(p.address)) continue;
      const n: NeighborInput = { address: p.address, asn: p.asn, port: p.port, description: 'external', ...common };
      const localIp = (p as { localAddress?: string }).localAddress ?? localAddress;
      if (localIp) n.localAddress = localIp;
      if (p.password) n.password = p.password;
      if (this.config.peerMultihopTtl) n.multihopTtl = this.config.peerMultihopTtl;
      if (p.maxPrefixes) n.maxPrefixes = p.maxPrefixes;
      desired.set(p.address, n);
    }
    for (const [address, key] of this.applied) {
      const want = desired.get(address);
      if (want && sessionKey(want) === key) {
        this.speaker.setPrefixLimit(address, want.maxPrefixes);
        continue;
      }
      this.speaker.removeNeighbor(address);
      this.applied.delete(address);
      if (!want) this.log.info({ peer: address }, 'removed BGP peer');
    }
    for (const [address, n] of desired) {
      if (this.applied.has(address)) continue;
      this.speaker.addNeighbor(n);
      this.applied.set(address, sessionKey(n));
      this.log.info({ peer: address, asn: n.asn, internal: this.internal.has(address) }, 'added BGP peer');
    }

    const originate = new Set([
      ...local.podCidrs.filter((c) => (ipFamily(c) === 6 ? this.config.ipv6 : this.config.ipv4)),
      ...inputs.vips.map((v) => v.prefix),
    ]);
    const vips = new Set(inputs.vips.map((v) => v.prefix));
    for (const p of this.speaker.originated()) {
      if (originate.has(p)) continue;
      this.speaker.withdraw(p);
      this.onAdvertise(this.originatedPods.delete(p) ? 'withdraw-pod-route' : 'withdraw-vip');
    }
    const have = new Set(this.speaker.originated());
    for (const p of originate) {
      if (have.has(p)) continue;
      this.speaker.originate(p);
      if (vips.has(p)) this.onAdvertise('advertise-vip');
      else {
        this.originatedPods.add(p);
        this.onAdvertise('pod-route');
      }
    }

    // Policies read these inputs: apply them again only when they changed.
    const key = JSON.stringify([
      [...this.internal].sort(),
      inputs.vips.map((v) => v.prefix),
      [...inputs.serviceIps].sort(),
      local.communities,
      local.prepend,
      local.importReject,
      local.podCidrs,
    ]);
    if (key !== this.policyKey) {
      this.policyKey = key;
      this.speaker.reapplyPolicies();
    }
  }

  private exportDecision(path: Path, peer: Peer): ExportDecision {
    // Default deny, as kube-router: only what this node originates leaves it.
    if (path.source) return 'deny';
    const isPod = this.inputs.local.podCidrs.includes(path.prefix);
    // As kube-router: toward nodes the next hop is the node IP, unless --override-nexthop asks
    // for the session's local address (they differ on nodes with several interfaces).
    if (this.internal.has(peer.address)) return isPod ? this.nodeNextHop(path.prefix) : 'deny';
    const isVip = this.inputs.vips.some((v) => v.prefix === path.prefix);
    if (!isVip && !(isPod && this.config.advertisePodCidr)) return 'deny';
    const l = this.inputs.local;
    return { ...(l.communities.length ? { communities: l.communities } : {}), ...(l.prepend ? { prepend: l.prepend } : {}) };
  }

  private nodeNextHop(prefix: string): { nextHop?: string } {
    if (this.config.overrideNextHop) return {};
    const ip = ipFamily(prefix) === 6 ? this.inputs.local.ipv6 : this.inputs.local.ipv4;
    return ip ? { nextHop: ip } : {};
  }

  /** The import policy, with each default route it refuses logged once per peer. */
  private importVerdict(prefix: string, peer: string): ImportVerdict {
    const verdict = importVerdict(prefix, {
      serviceIps: this.inputs.serviceIps,
      importReject: this.inputs.local.importReject,
      acceptDefaultRoute: this.config.acceptDefaultRoute,
    });
    if (verdict !== true && DEFAULT_ROUTES.has(prefix) && !this.refusedDefaults.has(`${peer} ${prefix}`)) {
      this.refusedDefaults.add(`${peer} ${prefix}`);
      this.log.warn(
        { peer, prefix, event: 'routeRefused' },
        'refusing a default route from this peer (accept it with --bgp-accept-default-route)',
      );
    }
    return verdict;
  }

  /** Every configured peer has sent End-of-RIB (or there are none): routes may be pruned. */
  get converged(): boolean {
    return [...this.applied.keys()].every((a) => this.speaker.peerSynced(a));
  }

  /** Default routes from peers refused by the import policy (for the metrics). */
  refusedDefaultRoutes(): number {
    let n = 0;
    for (const prefix of DEFAULT_ROUTES)
      for (const p of this.speaker.rib.destination(prefix)?.paths ?? []) if (!p.accepted && p.source) n++;
    return this.config.acceptDefaultRoute ? 0 : n;
  }

  /** Best paths learned from peers (not ours), for the kernel. */
  learnedRoutes(): LearnedRoute[] {
    const out: LearnedRoute[] = [];
    for (const p of this.speaker.rib.bestPaths()) {
      if (p.source && p.attrs.nextHop) out.push({ prefix: p.prefix, nextHop: p.attrs.nextHop, peer: p.source.address });
    }
    return out;
  }
}
