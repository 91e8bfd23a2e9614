/**
 * The agent's BGP: one speaker per node, configured from the agent's flags. Each sync turns the
 * node's desired state into a plan (bgp-plan.ts, pure) and applies it by difference: neighbours
 * added, removed, restarted or changed in place as `neighbourChange` decides; originated
 * prefixes; and the policies' inputs, re-applied to known routes only when they changed.
 */
import crypto from 'node:crypto';
import { Speaker, tcpTransports, type NeighborInput, type ImportVerdict, type Logger } from '../../bgp';
import type { AgentConfig } from '../config/agent-config';
import type { LocalNode } from '../../controllers/nodes';
import type { LearnedRoute } from './kernel-plan';
import { HeapSettle } from '../util/heap-settle';
import {
  compilePolicy,
  DEFAULT_ROUTES,
  exportDecision,
  importVerdict,
  neighbourChange,
  planBgp,
  policyKey,
  speakerAsn,
  type BgpPlan,
  type CompiledPolicy,
  type RoutingInputs,
} from './bgp-plan';

export { importVerdict, internalPrefixLimit, type RoutingInputs } from './bgp-plan';

/** From BGP's convergence after a start to the one collection of start-up's garbage. */
const STARTUP_SETTLE_MS = 5000;

/** kube-router's "generate": a stable router ID from the node name (for IPv6-only nodes). */
export function generateRouterId(nodeName: string): string {
  const h = crypto.createHash('sha256').update(nodeName).digest();
  return [h[0]! | 1, h[1], h[2], h[3]].join('.');
}

export class Routing {
  readonly speaker: Speaker;
  /** A full collection once a burst of route changes is over (memory back to the node). */
  private readonly settle: HeapSettle;
  /** The plan last applied: what the speaker has now. */
  private plan: BgpPlan = {
    neighbours: new Map(),
    originate: [],
    policy: {
      podCidrs: [],
      vips: [],
      serviceIps: [],
      importReject: [],
      communities: [],
      internal: [],
      advertisePodCidr: false,
      overrideNextHop: false,
      acceptDefaultRoute: false,
    },
  };
  private policy: CompiledPolicy = compilePolicy(this.plan.policy);
  private policyText = '';
  private warnedReflector = false;
  /** "peer prefix" of default routes refused, so each is logged once. */
  private readonly refusedDefaults = new Set<string>();
  readonly startedAt = Date.now();

  constructor(
    private readonly config: AgentConfig,
    local: LocalNode,
    private readonly log: Logger,
    /** Told of each prefix we start or stop originating (kube-router's advertisement types). */
    private readonly onAdvertise: (type: 'pod-route' | 'withdraw-pod-route' | 'advertise-vip' | 'withdraw-vip') => void = () => undefined,
  ) {
    const asn = speakerAsn(config, local);
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
      // kube-router.io/rr.server: this node reflects routes between the nodes it peers with (RFC 4456).
      ...(local.rrServer !== undefined ? { clusterId: local.rrServer } : {}),
      // Kernel routes outlive a restart of the agent: the forwarding state is preserved (F=1).
      // Every start may follow a stop of ours, so OPENs set R=1 until BGP has converged once.
      gracefulRestart: gr ? { restartTime: gr.restartTime, restarting: true, preserved: true } : undefined,
      transports: tcpTransports,
      log,
      exportPolicy: (prefix, path, peer) => exportDecision(this.policy, prefix, path, peer.address),
      importPolicy: (prefix, peer) => this.importVerdict(prefix, peer.address),
    });
    this.settle = new HeapSettle(log);
    this.speaker.on('bestChanges', (changes: unknown[]) => this.settle.note(changes.length));
  }

  /** 'internal' for another node (iBGP mesh or reflector peering), 'external' otherwise. */
  peerType(address: string): 'internal' | 'external' {
    return this.policy.internalSet.has(address) ? 'internal' : 'external';
  }

  get asn(): number {
    return this.speaker.options.asn;
  }

  start(): Promise<void> {
    return this.speaker.start();
  }

  /** Ends the sessions; `graceful` (the process stops) keeps peers' copies of our routes when graceful restart is on. */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    this.settle.stop();
    await this.speaker.stop(options);
  }

  /** BGP converged after a start, or the deferral time ended: R=1 is no longer sent. */
  restartComplete(): void {
    this.speaker.restartComplete();
    // Start-up's garbage (the first lists, syncs and compiled code) is given back once, soon
    // after: V8's memory reducer did it only 20-60 s later (docs/benchmarks.md).
    this.settle.settleIn(STARTUP_SETTLE_MS);
  }

  /** Applies the plan for these inputs; only differences reach the speaker. */
  sync(inputs: RoutingInputs): void {
    const local = inputs.local;
    if (local.rrServer !== this.speaker.options.clusterId && !this.warnedReflector) {
      // As kube-router, the reflector role is read when BGP starts; said once.
      this.warnedReflector = true;
      this.log.warn(
        { node: local.name, clusterId: local.rrServer ?? null, running: this.speaker.options.clusterId ?? null },
        'kube-router.io/rr.server changed: the route reflector role changes when the agent restarts',
      );
    }
    const next = planBgp(this.config, inputs);
    const previous = this.plan;
    this.plan = next;
    // The policies read the new inputs from now on, also for the neighbours added below.
    const text = policyKey(next.policy);
    const policyChanged = text !== this.policyText;
    if (policyChanged) {
      this.policyText = text;
      this.policy = compilePolicy(next.policy);
    }
    this.applyNeighbours(previous.neighbours, next.neighbours);
    this.applyOriginated(previous, next);
    if (policyChanged) this.speaker.reapplyPolicies();
  }

  private applyNeighbours(before: ReadonlyMap<string, NeighborInput>, after: ReadonlyMap<string, NeighborInput>): void {
    for (const address of new Set([...before.keys(), ...after.keys()])) {
      const want = after.get(address);
      const change = neighbourChange(before.get(address), want);
      switch (change.kind) {
        case 'unchanged':
          break;
        case 'remove':
          this.speaker.removeNeighbor(address);
          this.log.info({ peer: address }, 'removed BGP peer');
          break;
        case 'add':
          this.speaker.addNeighbor(want!);
          this.log.info({ peer: address, asn: want!.asn, internal: this.policy.internalSet.has(address) }, 'added BGP peer');
          break;
        case 'restart':
          this.speaker.removeNeighbor(address);
          this.speaker.addNeighbor(want!);
          this.log.info({ peer: address, changed: change.fields }, 'BGP peer changed: session restarted');
          break;
        case 'inPlace':
          this.speaker.setPrefixLimit(address, want!.maxPrefixes);
          this.speaker.setDescription(address, want!.description);
          this.log.info({ peer: address, changed: change.fields }, 'BGP peer changed in place');
          break;
      }
    }
  }

  private applyOriginated(before: BgpPlan, after: BgpPlan): void {
    const want = new Map(after.originate.map((o) => [o.prefix, o.kind]));
    const had = new Map(before.originate.map((o) => [o.prefix, o.kind]));
    for (const [prefix, kind] of had) {
      if (want.has(prefix)) continue;
      this.speaker.withdraw(prefix);
      this.onAdvertise(kind === 'pod' ? 'withdraw-pod-route' : 'withdraw-vip');
    }
    for (const [prefix, kind] of want) {
      if (had.has(prefix)) continue;
      this.speaker.originate(prefix);
      this.onAdvertise(kind === 'pod' ? 'pod-route' : 'advertise-vip');
    }
  }

  /** The import policy, with each default route it refuses logged once per peer. */
  private importVerdict(prefix: string, peer: string): ImportVerdict {
    const p = this.policy;
    const verdict = importVerdict(prefix, {
      serviceIps: p.serviceIpSet,
      importReject: p.importReject,
      acceptDefaultRoute: p.acceptDefaultRoute,
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
    return [...this.plan.neighbours.keys()].every((a) => this.speaker.peerSynced(a));
  }

  /** Default routes from peers refused by the import policy (for the metrics). */
  refusedDefaultRoutes(): number {
    let n = 0;
    for (const prefix of DEFAULT_ROUTES) for (const p of this.speaker.rib.paths(prefix)) if (!p.accepted && p.source) n++;
    return this.config.acceptDefaultRoute ? 0 : n;
  }

  /** Best paths learned from peers (not ours), for the kernel. */
  learnedRoutes(): LearnedRoute[] {
    const out: LearnedRoute[] = [];
    for (const [prefix, p] of this.speaker.rib.bestPaths()) {
      if (p.source && p.attrs.nextHop) out.push({ prefix, nextHop: p.attrs.nextHop, peer: p.source.address });
    }
    return out;
  }
}
