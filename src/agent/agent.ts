/**
 * The node agent: informers -> controllers -> desired state -> speaker and data path.
 * Level-triggered: any informer change or the --routes-sync-period timer runs one sync that
 * recomputes everything from the caches and applies differences; best-path changes, the timer
 * and kernel route events run the route reconcile. Both run one at a time (SerialTask).
 */
import os from 'node:os';
import type http from 'node:http';
import type { AgentConfig } from '../config/agent-config';
import { type Logger, startAdminServer, neighborViews } from '../../bgp';
import { ClusterWatch } from '../../controllers/cluster-watch';
import { computeNodes, LocalNode, NodesDesired, primaryIp } from '../../controllers/nodes';
import { LastState, loadLastState, saveLastState } from './last-state';
import { allServiceIps, computeServiceVips, AdvertisedVip } from '../../controllers/services';
import { computeLocalPods, LocalPod } from '../../controllers/pods';
import { computeProxy, virtualServerKey, ProxyDesired } from '../../controllers/service-proxy';
import { Problems } from '../../controllers/problems';
import { loadKubeConfig } from './kube';
import { Routing } from './routing';
import { DataPlane } from './dataplane';
import { SerialTask } from '../util/serial-task';
import { planKernel, KernelPlan } from './kernel-plan';
import type { TunnelView } from '../dataplane/tunnels';
import type { RouteChanges } from '../dataplane/routes';
import type { Loop } from '../dataplane/kernel-events';
import { AgentMetrics } from './metrics';
import { checkHealth, HealthReport } from './health';
import { startEndpoints, Endpoint } from './endpoints';
import { FibStatus } from './fib-status';

/** Reported in kube_router_build_info. */
export const VERSION = '0.1.0';

export interface AgentStatus {
  node: string;
  nodeIp?: string;
  podCidrs: string[];
  asn?: number;
  routerId?: string;
  ready: boolean;
  informers: ReturnType<ClusterWatch['status']>;
  localPods: LocalPod[];
  advertisedVips: AdvertisedVip[];
  internalPeers: string[];
  kernelRoutes: { dst: string; gateway?: string; dev?: string; table?: number }[];
  tunnels: TunnelView[];
  /** With --run-service-proxy: the VIPs on kube-dummy-if and the virtual servers, "tcp:10.96.0.10:80 rr -> 10.244.1.2:8080 ...". */
  serviceProxy?: { vips: string[]; virtualServers: string[] };
  unreachableRoutes: string[];
  /** Learned best paths kept out of the kernel, with the reason (hijack refusals, no next hop, kernel errors). */
  notInstalled: { prefix: string; peer?: string; reason: string }[];
  converged: boolean;
  /** Where the node state in use comes from: the API server, or the state saved by the last run. */
  stateSource?: 'api' | 'saved';
  tasks: { name: string; runs: number; errors: number; lastError?: string; lastSuccessAt?: number; lastDurationMs: number }[];
  health: HealthReport;
}

/** What a saved state holds, as text: a sync that computes the same saves nothing. */
const stateText = (s: Omit<LastState, 'savedAt'>): string => JSON.stringify([s.node, s.nodes, s.vips, s.serviceIps]);

/** After an nftables change event, how soon iptables is checked (a burst of changes costs one check). */
const EARLY_CHECK_MS = 100;

/** How long after start the agent waits for the API server before using the saved state. */
const STATE_FALLBACK_MS = 3000;

/** When kernel route changes failed, how soon they are tried again. */
const ROUTE_RETRY_MS = 10000;

/** How long routes from before a restart may stay without BGP having converged. */
const PRUNE_DEADLINE_NO_GR_MS = 60000;

export class Agent {
  private cluster: ClusterWatch | undefined;
  private routing: Routing | undefined;
  private dataplane: DataPlane | undefined;
  private admin: http.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly problems: Problems;
  private desired: NodesDesired | undefined;
  private vips: AdvertisedVip[] = [];
  private unreachable: string[] = [];
  /** Set once BGP has converged after (re)joining: from then on kernel routes are pruned. */
  private pruning = false;
  /** Own Node gone: the routes task removes every learned route, tunnel and rule once. */
  private leaving = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Why sync is waiting for the Node object (logged once per reason). */
  private waitingFor: string | undefined;
  readonly syncTask: SerialTask;
  readonly routesTask: SerialTask;
  readonly servicesTask: SerialTask;
  private proxy: ProxyDesired | undefined;
  private metrics: AgentMetrics | undefined;
  private http: http.Server[] = [];
  private readonly fib: FibStatus;
  /** What the last run saved, read at start; used until the API server answers. */
  private saved: LastState | undefined;
  private savedText: string | undefined;
  private fallbackTimer: NodeJS.Timeout | undefined;
  private driftTimer: NodeJS.Timeout | undefined;
  private checkingDrift = false;
  private earlyCheck: NodeJS.Timeout | undefined;
  /** Where the node state in use comes from. */
  private stateSource: 'api' | 'saved' | undefined;
  /** Retries kernel route changes that failed, without failing the loop (and /healthz) for them. */
  private routeRetry: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly config: AgentConfig,
    private readonly log: Logger,
  ) {
    this.problems = new Problems(log.child({ component: 'controllers' }));
    this.fib = new FibStatus(log.child({ component: 'routes' }));
    const observe = (name: string, ms: number, failed: boolean): void => this.metrics?.observeTask(name, ms, failed);
    this.syncTask = new SerialTask('sync', () => this.sync(), log, observe);
    this.routesTask = new SerialTask('routes', () => this.syncRoutes(), log, observe);
    this.servicesTask = new SerialTask('services', () => this.syncServices(), log, observe);
  }

  /**
   * Health, metrics and the admin socket come up first, so an API server that does not answer
   * is visible there (and in the log) rather than leaving the agent mute; the informers start
   * without being waited for.
   */
  async start(): Promise<void> {
    this.createMetrics();
    const kc = loadKubeConfig(this.config);
    await this.startEndpoints();
    this.admin = await startAdminServer(
      () => this.routing?.speaker,
      this.config.adminSocket,
      this.log,
      { '/agent/status': () => this.status() },
      (prefix) => this.fib.view(prefix),
    );
    this.loadState();
    this.cluster = new ClusterWatch(kc, this.config.nodeName, this.log.child({ component: 'informers' }));
    this.cluster.on('changed', () => this.syncTask.trigger());
    void this.cluster.start();
    if (this.saved) {
      this.fallbackTimer = setTimeout(() => this.syncTask.trigger(), STATE_FALLBACK_MS);
      this.fallbackTimer.unref();
    }
    this.timer = setInterval(() => {
      this.syncTask.trigger();
      this.routesTask.trigger();
      if (this.config.runServiceProxy) this.servicesTask.trigger();
    }, this.config.routesSyncPeriodMs);
    this.syncTask.trigger();
    this.log.info({ node: this.config.nodeName, adminSocket: this.config.adminSocket }, 'agent started');
  }

  private loadState(): void {
    if (!this.config.stateFile) return;
    const r = loadLastState(this.config.stateFile, this.config.nodeName);
    if ('state' in r) {
      this.saved = r.state;
      this.savedText = stateText(r.state);
      this.log.info(
        { file: this.config.stateFile, savedAt: new Date(r.state.savedAt).toISOString() },
        'found the state saved by the last run (used if the API server does not answer)',
      );
    } else {
      this.log.info({ file: this.config.stateFile, why: r.missing }, 'no saved state to start from');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.fallbackTimer);
    clearInterval(this.driftTimer);
    clearTimeout(this.earlyCheck);
    clearTimeout(this.pruneTimer);
    clearTimeout(this.routeRetry);
    for (const t of this.tasks()) t.stop();
    for (const t of this.tasks()) await t.idle();
    await this.cluster?.stop();
    await this.routing?.stop();
    this.admin?.close();
    for (const server of this.http) server.close();
    this.dataplane?.close();
  }

  /**
   * Desired node state, from the informers once they listed Nodes; until then, after a short
   * wait, from the state saved by the last run (an agent restarting while the API server is
   * unreachable must still come back to its peers before their graceful-restart time ends).
   */
  private nodesView(): NodesDesired | undefined {
    const cluster = this.cluster!;
    const c = this.config;
    if (cluster.nodes.synced) {
      if (this.stateSource === 'saved') this.log.info({}, 'the API server answered: leaving the saved state for the live one');
      this.stateSource = 'api';
      return computeNodes(
        cluster.nodes.list(),
        { nodeName: c.nodeName, clusterAsn: c.clusterAsn, fullMesh: c.nodesFullMesh, enableIbgp: c.enableIbgp, ipv4: c.ipv4, ipv6: c.ipv6 },
        this.problems,
      );
    }
    if (!this.saved || Date.now() - this.startedAt < STATE_FALLBACK_MS) return undefined;
    if (this.stateSource !== 'saved') {
      this.stateSource = 'saved';
      this.log.warn(
        { savedAt: new Date(this.saved.savedAt).toISOString(), file: c.stateFile },
        'the API server has not answered since start: running from the state the last run saved',
      );
    }
    return this.saved.nodes;
  }

  /** Service VIPs to advertise and every service IP: live once both informers listed, else saved, else none. */
  private servicesView(local: LocalNode): { vips: AdvertisedVip[]; serviceIps: ReadonlySet<string>; live: boolean } {
    const cluster = this.cluster!;
    const c = this.config;
    if (!(cluster.services.synced && cluster.endpointSlices.synced) && this.saved) {
      return { vips: this.saved.vips, serviceIps: new Set(this.saved.serviceIps), live: false };
    }
    const services = cluster.services.list();
    const vips = computeServiceVips(
      services,
      cluster.endpointSlices.list(),
      {
        nodeName: c.nodeName,
        nodeIps: [local.ipv4, local.ipv6].filter((x): x is string => !!x),
        advertiseClusterIp: c.advertiseClusterIp,
        advertiseExternalIp: c.advertiseExternalIp,
        advertiseLoadBalancerIp: c.advertiseLoadBalancerIp,
        strictExternalIpValidation: c.strictExternalIpValidation,
        externalIpRanges: c.serviceExternalIpRanges,
        loadBalancerIpRanges: c.loadBalancerIpRanges,
        ipv4: c.ipv4,
        ipv6: c.ipv6,
      },
      this.problems,
    );
    return { vips, serviceIps: allServiceIps(services), live: cluster.services.synced && cluster.endpointSlices.synced };
  }

  private async sync(): Promise<void> {
    const desired = this.nodesView();
    if (!desired) return;
    const c = this.config;
    this.desired = desired;
    const local = desired.local;
    const nodeIp = local && primaryIp(local, c);
    if (!local || !nodeIp) {
      const why = !local
        ? 'no Node object with this name (see --hostname-override)'
        : 'the Node object has no InternalIP or ExternalIP address';
      if (this.routing) await this.leaveCluster(why);
      else if (this.waitingFor !== why) this.log.warn({ node: c.nodeName }, `${why}; waiting`);
      this.waitingFor = why;
      return;
    }
    this.waitingFor = undefined;
    if (c.runServiceProxy) this.servicesTask.trigger();
    if (!c.runRouter) return;
    this.ensureDataPlane();
    if (!this.routing) {
      this.leaving = false;
      this.pruning = false;
      clearTimeout(this.pruneTimer);
      this.pruneTimer = setTimeout(() => this.routesTask.trigger(), this.pruneDeadlineMs() + 100);
      const routing = new Routing(c, local, this.log.child({ component: 'bgp' }), (type) => this.metrics?.advertisementsSent.inc({ type }));
      await routing.start();
      routing.speaker.on('bestChanges', (changes) => {
        this.metrics?.advertisementsReceived.inc(changes.length);
        this.routesTask.trigger();
      });
      routing.speaker.on('endOfRib', () => this.routesTask.trigger());
      this.routing = routing;
      this.log.info({ asn: routing.asn, routerId: routing.speaker.options.routerId, nodeIp }, 'BGP speaker started');
    }
    if (local.podCidrs.length === 0)
      this.log.warn({ node: c.nodeName }, 'the Node has no pod CIDR (spec.podCIDRs or kube-router.io/pod-cidr): nothing to advertise');
    const services = this.servicesView(local);
    this.vips = services.vips;
    this.routing.sync({
      local,
      internalPeers: desired.internalPeers,
      vips: services.vips,
      serviceIps: services.serviceIps,
      clusterSize: desired.nodes.length,
    });
    await this.dataplane!.reconcileSetup({ podCidrs: local.podCidrs, podSubnets: desired.podSubnets, nodeIps: desired.nodeIps, nodeIp });
    if (this.stateSource === 'api' && services.live) this.saveState(desired, services.vips, services.serviceIps);
    this.routesTask.trigger();
  }

  /** Keeps what this sync computed for the next start (only what came from the API server, only when changed). */
  private saveState(nodes: NodesDesired, vips: AdvertisedVip[], serviceIps: ReadonlySet<string>): void {
    const file = this.config.stateFile;
    if (!file) return;
    const state = { node: this.config.nodeName, nodes, vips, serviceIps: [...serviceIps].sort() };
    const text = stateText(state);
    if (text === this.savedText) return;
    try {
      saveLastState(file, state);
      this.savedText = text;
    } catch (e) {
      this.log.warn({ file, err: (e as Error).message }, 'cannot save the state for the next start');
    }
  }

  /**
   * This node's Node object is gone (deleted, as with `kubectl delete node`): it is no longer
   * part of the cluster, so it stops peering and advertising, and drops the routes it learned.
   * The data path for local pods stays; the Node coming back starts everything again.
   */
  private async leaveCluster(why: string): Promise<void> {
    this.log.warn(
      { node: this.config.nodeName },
      `${why}: leaving the cluster (BGP sessions closed, learned routes removed) until it is back`,
    );
    const routing = this.routing!;
    this.routing = undefined;
    this.vips = [];
    this.leaving = true;
    await routing.stop();
    // The kernel is changed by the routes task only, so a run already under way cannot put
    // back what this removes.
    this.routesTask.trigger();
  }

  /**
   * The data path, with its drift repair: kernel events (links, addresses, routes, rules) run
   * the loop owning what changed at once; what has no events (sysctls, ipsets, iptables, IPVS)
   * is checked every second. Either way, someone else's change is undone within about a second.
   */
  private ensureDataPlane(): DataPlane {
    if (!this.dataplane) {
      const dp = new DataPlane(this.config, this.log.child({ component: 'dataplane' }));
      this.dataplane = dp;
      dp.watchKernel(
        (loops) => this.runLoops(loops, 'kernel event'),
        () => {
          // A ruleset change (ours too): check soon, once for a burst.
          if (this.earlyCheck) return;
          this.earlyCheck = setTimeout(() => {
            this.earlyCheck = undefined;
            this.checkDrift(dp);
          }, EARLY_CHECK_MS);
          this.earlyCheck.unref();
        },
      );
      if (this.config.selfHealPeriodMs > 0) {
        this.driftTimer = setInterval(() => this.checkDrift(dp), this.config.selfHealPeriodMs);
        this.driftTimer.unref();
      }
    }
    return this.dataplane;
  }

  /** One drift check at a time; what it finds runs the loops owning it. */
  private checkDrift(dp: DataPlane): void {
    if (this.checkingDrift) return;
    this.checkingDrift = true;
    dp.drifted()
      .then(
        (loops) => this.runLoops(loops, 'drift check'),
        (e: Error) => this.log.debug({ err: e.message }, 'drift check failed'),
      )
      .finally(() => (this.checkingDrift = false));
  }

  /** Runs the loops that own what changed (only those this agent runs). */
  private runLoops(loops: Set<Loop>, why: string): void {
    if (loops.size === 0) return;
    this.log.debug({ loops: [...loops], why }, 'repairing drift');
    if (loops.has('setup')) this.syncTask.trigger();
    if (loops.has('routes') && this.config.runRouter) this.routesTask.trigger();
    if (loops.has('services') && this.config.runServiceProxy) this.servicesTask.trigger();
  }

  /** The loops this agent runs (the service proxy's only with --run-service-proxy). */
  private tasks(): SerialTask[] {
    return [this.syncTask, this.routesTask, ...(this.config.runServiceProxy ? [this.servicesTask] : [])];
  }

  /**
   * The service proxy (kube-proxy's job): IPVS virtual servers and kube-dummy-if VIPs from
   * Services and EndpointSlices. It keeps running while the Node is away (local pods still use
   * services); it waits only for the first Node, whose IPs the node ports listen on.
   */
  private async syncServices(): Promise<void> {
    const cluster = this.cluster!;
    const local = this.desired?.local;
    if (!cluster.services.synced || !cluster.endpointSlices.synced || !local) return;
    const c = this.config;
    const nodeIps = [c.ipv4 ? local.ipv4 : undefined, c.ipv6 ? local.ipv6 : undefined].filter((x): x is string => !!x);
    const desired = computeProxy(
      cluster.services.list(),
      cluster.endpointSlices.list(),
      { nodeName: c.nodeName, nodeIps, ipv4: c.ipv4, ipv6: c.ipv6, hairpinAll: c.hairpinMode },
      this.problems,
    );
    const changes = await this.ensureDataPlane().reconcileServices({
      virtualServers: desired.virtualServers,
      vips: desired.vips,
      nodeIps,
      podCidrs: local.podCidrs,
    });
    this.proxy = desired;
    if (
      changes.added.length ||
      changes.edited.length ||
      changes.removed.length ||
      changes.realServers.length ||
      changes.vipsAdded.length ||
      changes.vipsRemoved.length
    ) {
      this.log.info({ ...changes }, 'service proxy updated');
    }
  }

  private pruneDeadlineMs(): number {
    return this.config.gracefulRestart ? this.config.gracefulRestart.deferralTime * 1000 : PRUNE_DEADLINE_NO_GR_MS;
  }

  private async syncRoutes(): Promise<void> {
    const routing = this.routing;
    if (!routing) {
      if (this.leaving && this.dataplane) {
        await this.applyPlan({ routes: [], tunnels: [], rules: [], fouPorts: [], unreachable: [], refused: [] }, true);
        this.fib.clear();
        this.leaving = false;
      }
      return;
    }
    if (!this.dataplane || !this.desired?.local) return;
    const local = this.desired.local;
    const ifs = await this.dataplane.interfaces(primaryIp(local, this.config));
    const learned = routing.learnedRoutes();
    const plan = planKernel({
      learned,
      ownPodCidrs: local.podCidrs,
      connected: ifs.connected,
      serviceRanges: this.config.serviceClusterIpRanges,
      nodeIps: new Set(this.desired.nodeIps),
      local: { ...(local.ipv4 ? { ipv4: local.ipv4 } : {}), ...(local.ipv6 ? { ipv6: local.ipv6 } : {}) },
      ...(this.config.overlay ? { overlay: this.config.overlay } : {}),
      uplinkMtu: ifs.uplinkMtu ?? 1500,
    });
    // Left the cluster while this run waited: the next run removes everything instead.
    if (this.routing !== routing) return;
    const unreachable = plan.unreachable;
    if (unreachable.join() !== this.unreachable.join() && unreachable.length) {
      this.log.warn(
        { prefixes: unreachable },
        this.config.overlay
          ? 'learned routes whose next hop is neither on our subnets nor a node get no kernel route'
          : 'learned routes whose next hop is not on our subnets get no kernel route (a router must carry them, or use --enable-overlay)',
      );
    }
    this.unreachable = unreachable;
    // Routes installed before a restart stay until BGP has converged once (every peer sent
    // End-of-RIB), or a deadline passes; from then on, what BGP no longer has goes.
    if (!this.pruning) {
      const converged = routing.converged;
      if (converged || Date.now() - routing.startedAt > this.pruneDeadlineMs()) {
        this.pruning = true;
        this.log.info(
          { converged },
          converged
            ? 'BGP converged: routes BGP no longer has are removed from now on'
            : 'BGP did not converge in time: removing routes BGP does not have',
        );
      }
    }
    const changes = await this.applyPlan(plan, this.pruning);
    this.fib.record(learned, plan, changes);
  }

  /**
   * Applies a kernel plan, counting what changed. A route the kernel refuses is reported per
   * route (agent status, `bgp rib`, metrics) and retried shortly; it does not fail the loop,
   * so one bad route never makes /healthz (and the kubelet) restart the agent.
   */
  private async applyPlan(plan: KernelPlan, prune: boolean): Promise<RouteChanges> {
    const t0 = Date.now();
    const changes = await this.dataplane!.reconcileKernel(plan, prune);
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
      clearTimeout(this.routeRetry);
      this.routeRetry = setTimeout(() => this.routesTask.trigger(), ROUTE_RETRY_MS);
      this.routeRetry.unref();
    }
    return changes;
  }

  /** /healthz's verdict (see health.ts). */
  health(): HealthReport {
    return checkHealth({
      now: Date.now(),
      startedAt: this.startedAt,
      periodMs: this.config.routesSyncPeriodMs,
      tasks: this.tasks().map((t) => ({ name: t.name, lastSuccessAt: t.lastSuccessAt, firstSuccessAt: t.firstSuccessAt })),
      waitingFor: this.waitingFor,
      apiServer: this.apiServerProblem(),
      speaker: this.config.runRouter ? { running: !!this.routing?.speaker.listening } : undefined,
    });
  }

  /** Why the agent cannot work yet: no list of Nodes from the API server and no saved state in use. */
  private apiServerProblem(): string | undefined {
    const nodes = this.cluster?.nodes;
    if (nodes?.synced || this.stateSource === 'saved') return undefined;
    const err = nodes?.lastError;
    return `waiting for the API server to list Nodes${err ? ` (last error: ${err})` : ''}${this.saved ? '; the saved state is used shortly' : ''}`;
  }

  /** Before anything runs, so the first sync's events are counted too. */
  private createMetrics(): void {
    if (!this.config.metrics) return;
    this.metrics = new AgentMetrics(
      {
        peers: () => (this.routing ? neighborViews(this.routing.speaker) : []),
        peerType: (address) => this.routing?.peerType(address) ?? 'external',
        informers: () => this.cluster?.status() ?? [],
        kernelRoutes: async () => (this.dataplane ? this.dataplane.kernelRouteCounts() : {}),
        notInstalled: () => ({ ...this.fib.counts(), 'default-route': this.routing?.refusedDefaultRoutes() ?? 0 }),
        healthy: () => this.health().healthy,
      },
      VERSION,
    );
  }

  private async startEndpoints(): Promise<void> {
    const c = this.config;
    const endpoints: Endpoint[] = [];
    const metrics = this.metrics;
    if (c.metrics && metrics) {
      endpoints.push({
        ...c.metrics,
        handler: async () => ({ status: 200, contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
      });
    }
    if (c.health) {
      endpoints.push({
        ...c.health,
        path: '/healthz',
        handler: async () => {
          const h = this.health();
          return {
            status: h.healthy ? 200 : 500,
            contentType: 'text/plain; charset=utf-8',
            body: h.healthy ? 'OK\n' : `Unhealthy\n${h.problems.join('\n')}\n`,
          };
        },
      });
    }
    this.http = await startEndpoints(endpoints, this.log.child({ component: 'http' }));
  }

  async status(): Promise<AgentStatus> {
    const local = this.desired?.local;
    const s: AgentStatus = {
      node: this.config.nodeName,
      podCidrs: local?.podCidrs ?? [],
      ready: !!this.routing,
      informers: this.cluster?.status() ?? [],
      localPods: computeLocalPods(this.cluster?.pods.list() ?? [], this.config.nodeName),
      advertisedVips: this.vips,
      internalPeers: this.desired?.internalPeers.map((p) => `${p.node} ${p.address}`) ?? [],
      kernelRoutes: (await this.dataplane?.installedRoutes()) ?? [],
      tunnels: (await this.dataplane?.tunnelStatus()) ?? [],
      unreachableRoutes: this.unreachable,
      notInstalled: this.fib.notInstalled(),
      ...(this.stateSource ? { stateSource: this.stateSource } : {}),
      converged: this.routing?.converged ?? false,
      tasks: this.tasks().map((t) => {
        const v: AgentStatus['tasks'][number] = { name: t.name, runs: t.runs, errors: t.errors, lastDurationMs: t.lastDurationMs };
        if (t.lastError) v.lastError = t.lastError;
        if (t.lastSuccessAt) v.lastSuccessAt = t.lastSuccessAt;
        return v;
      }),
      health: this.health(),
    };
    const ip = local && primaryIp(local, this.config);
    if (ip) s.nodeIp = ip;
    if (this.proxy) {
      s.serviceProxy = {
        vips: this.proxy.vips,
        virtualServers: this.proxy.virtualServers.map(
          (v) =>
            `${virtualServerKey(v)} ${v.scheduler} -> ${v.realServers.map((r) => `${r.address}:${r.port}`).join(' ') || '(no endpoints)'}`,
        ),
      };
    }
    if (this.routing) {
      s.asn = this.routing.asn;
      s.routerId = this.routing.speaker.options.routerId;
    }
    return s;
  }
}

export const hostName = (): string => os.hostname();
