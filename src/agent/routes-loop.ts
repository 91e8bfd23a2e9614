/**
 * The routes loop: learned best paths -> kernel plan (kernel-plan.ts) -> tunnels, routes and
 * rules. Runs on best-path changes, End-of-RIB, kernel route events and the sync period, each
 * run with the latest snapshot of desired state. Routes installed before a restart stay until
 * BGP has converged once (every peer sent End-of-RIB) or a deadline passes; when the node leaves
 * the cluster everything learned goes.
 */
import type { Logger } from '../../bgp';
import type { AgentConfig } from '../config/agent-config';
import { primaryIp } from '../../controllers/nodes';
import type { RouteChanges } from '../dataplane/routes';
import type { DataPlane } from './dataplane';
import type { Desired } from './desired';
import type { FibStatus } from './fib-status';
import { planKernel, type KernelPlan } from './kernel-plan';
import type { AgentMetrics } from './metrics';
import type { Routing } from './routing';

/** When kernel route changes failed, how soon they are tried again. */
const ROUTE_RETRY_MS = 10000;

/** How long routes from before a restart may stay without BGP having converged. */
const PRUNE_DEADLINE_NO_GR_MS = 60000;

const EMPTY_PLAN: KernelPlan = { routes: [], tunnels: [], rules: [], fouPorts: [], unreachable: [], refused: [] };

export class RoutesLoop {
  /** The join whose convergence is being waited for, and whether it converged (routes pruned from then on). */
  private join: { routing: Routing; pruning: boolean } | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  /** The leaving snapshot whose removal is done. */
  private cleared: Desired | undefined;
  /** Learned prefixes whose next hop is unreachable (for the status and the log). */
  unreachable: string[] = [];

  constructor(
    private readonly config: AgentConfig,
    private readonly dataplane: DataPlane,
    private readonly fib: FibStatus,
    private readonly log: Logger,
    private readonly metrics: AgentMetrics | undefined,
    /** Runs the loop again later (deadline, retry). */
    private readonly again: () => void,
  ) {}

  async run(d: Desired | undefined): Promise<void> {
    if (!d) return;
    if (d.phase === 'leaving') {
      // Once per leave (this snapshot): everything learned goes, tunnels and rules with it.
      this.join = undefined;
      if (this.cleared === d) return;
      await this.apply(EMPTY_PLAN, true);
      this.fib.clear();
      this.unreachable = [];
      this.cleared = d;
      return;
    }
    const routing = d.routing;
    if (!routing) return;
    if (this.join?.routing !== routing) {
      this.join = { routing, pruning: false };
      clearTimeout(this.deadline);
      this.deadline = setTimeout(this.again, this.pruneDeadlineMs() + 100);
      this.deadline.unref();
    }
    const join = this.join;
    const ifs = await this.dataplane.interfaces(primaryIp(d.local, this.config));
    const learned = routing.learnedRoutes();
    const plan = planKernel({
      learned,
      ownPodCidrs: d.local.podCidrs,
      connected: ifs.connected,
      serviceRanges: this.config.serviceClusterIpRanges,
      nodeIps: new Set(d.nodes.nodeIps),
      local: { ...(d.local.ipv4 ? { ipv4: d.local.ipv4 } : {}), ...(d.local.ipv6 ? { ipv6: d.local.ipv6 } : {}) },
      ...(this.config.overlay ? { overlay: this.config.overlay } : {}),
      uplinkMtu: ifs.uplinkMtu ?? 1500,
    });
    this.reportUnreachable(plan.unreachable);
    if (!join.pruning) {
      const converged = routing.converged;
      if (converged || Date.now() - routing.startedAt > this.pruneDeadlineMs()) {
        join.pruning = true;
        routing.restartComplete();
        this.log.info(
          { converged },
          converged
            ? 'BGP converged: routes BGP no longer has are removed from now on'
            : 'BGP did not converge in time: removing routes BGP does not have',
        );
      }
    }
    const changes = await this.apply(plan, join.pruning);
    this.fib.record(learned, plan, changes);
  }

  stop(): void {
    clearTimeout(this.deadline);
    clearTimeout(this.retry);
  }

  private pruneDeadlineMs(): number {
    return this.config.gracefulRestart ? this.config.gracefulRestart.deferralTime * 1000 : PRUNE_DEADLINE_NO_GR_MS;
  }

  private reportUnreachable(unreachable: string[]): void {
    if (unreachable.join() !== this.unreachable.join() && unreachable.length) {
      this.log.warn(
        { prefixes: unreachable },
        this.config.overlay
          ? 'learned routes whose next hop is neither on our subnets nor a node get no kernel route'
          : 'learned routes whose next hop is not on our subnets get no kernel route (a router must carry them, or use --enable-overlay)',
      );
    }
    this.unreachable = unreachable;
  }

  /**
   * Applies a kernel plan, counting what changed. A route the kernel refuses is reported per
   * route (agent status, `bgp rib`, metrics) and retried shortly; it does not fail the loop,
   * so one bad route never makes /healthz (and the kubelet) restart the agent.
   */
  private async apply(plan: KernelPlan, prune: boolean): Promise<RouteChanges> {
    const t0 = Date.now();
    const changes = await this.dataplane.reconcileKernel(plan, prune);
    const m = this.metrics;
    if (m) {
      m.hostRoutesSyncTime.observe((Date.now() - t0) / 1000);
      m.hostRoutesAdded.inc(changes.added.length + changes.replaced.length);
      m.hostRoutesRemoved.inc(changes.removed.length);
      m.hostRoutesSynced.set(changes.installed);
      m.routeInstallErrors.inc(changes.failed.length);
    }
    if (changes.failed.length) {
      this.log.warn(
        { failed: changes.failed, retryInMs: ROUTE_RETRY_MS },
        `${changes.failed.length} kernel route change(s) failed; retrying`,
      );
      clearTimeout(this.retry);
      this.retry = setTimeout(this.again, ROUTE_RETRY_MS);
      this.retry.unref();
    }
    return changes;
  }
}
