/**
 * The node agent: informers -> controllers -> desired state -> speaker and data path, in
 * explicit phases (phase.ts: starting, waiting for its Node, joined, leaving, stopping).
 * Level-triggered: any informer change or the --routes-sync-period timer runs the sync loop,
 * which recomputes everything from the caches, applies the setup and the BGP plan, and hands
 * the routes and services loops an immutable snapshot of desired state (desired.ts). Each loop
 * runs one at a time (SerialTask) and shares no mutable state with the others.
 */
import os from 'node:os';
import type http from 'node:http';
import type { AgentConfig } from '../config/agent-config';
import { type Logger, startAdminServer, startGobgpApi, neighborViews } from '../../bgp';
import { ClusterWatch } from '../../controllers/cluster-watch';
import { computeNodes, LocalNode, NodesDesired, primaryIp } from '../../controllers/nodes';
import { LastState, readLastState, saveLastState } from './last-state';
import { allServiceIps, computeServiceVips, AdvertisedVip } from '../../controllers/services';
import { computeLocalPods, LocalPod } from '../../controllers/pods';
import { virtualServerKey } from '../../controllers/service-proxy';
import { ipvsKey } from '../dataplane/ipvs';
import { Problems } from '../../controllers/problems';
import { loadKubeConfig } from './kube';
import { Routing } from './routing';
import { DataPlane, systemDeps } from './dataplane';
import { SerialTask } from '../util/serial-task';
import type { TunnelView } from '../dataplane/tunnels';
import type { Loop } from '../dataplane/kernel-events';
import { AgentMetrics, type IpvsServiceSample } from './metrics';
import { checkHealth, HealthReport } from './health';
import { profilingEndpoints } from './profiling';
import { startEndpoints, Endpoint } from './endpoints';
import { FibStatus } from './fib-status';
import { transition, type Phase, type PhaseEvent } from './phase';
import { snapshot, type Desired, type Joined } from './desired';
import { RoutesLoop } from './routes-loop';
import { ServicesLoop, serviceIpRanges } from './services-loop';
import { FirewallLoop } from './firewall-loop';
import { LbLoop } from './lb-loop';
import { SourceDestCheck } from './aws-src-dst';
import { DriftRepair } from './drift';

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
  /** With --run-firewall: the pods isolated per direction, the chains and sets enforcing it. */
  firewall?: FirewallLoop['view'];
  /** With --run-loadbalancer: whether this agent holds the allocator's Lease, and its latest allocations. */
  loadBalancer?: { leader: boolean; given: string[] };
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
  /** The process's memory now, bytes: resident set, and the JavaScript heap in use. */
  memory: { rss: number; heapUsed: number };
}

/** How long after start the agent waits for the API server before using the saved state. */
const STATE_FALLBACK_MS = 3000;
/** How often draining IPVS real servers are looked at (kube-router: gracefulTermServiceTickTime). */
const DRAIN_CHECK_MS = 5000;

/** What a saved state holds, as text: a sync that computes the same saves nothing. */
const stateText = (s: Omit<LastState, 'savedAt'>): string => JSON.stringify([s.node, s.nodes, s.vips, s.serviceIps]);

export class Agent {
  private readonly problems: Problems;
  private readonly fib: FibStatus;
  private readonly startedAt = Date.now();
  readonly syncTask: SerialTask;
  readonly routesTask: SerialTask<Desired>;
  readonly servicesTask: SerialTask<Joined>;
  readonly firewallTask: SerialTask;
  // Set once by start():
  private cluster: ClusterWatch | undefined;
  private dataplane: DataPlane | undefined;
  private routesLoop: RoutesLoop | undefined;
  private servicesLoop: ServicesLoop | undefined;
  private firewallLoop: FirewallLoop | undefined;
  private lbLoop: LbLoop | undefined;
  private srcDstTask: SerialTask | undefined;
  private drift: DriftRepair | undefined;
  private metrics: AgentMetrics | undefined;
  private admin: http.Server | undefined;
  private gobgpApi: { close(): void }[] = [];
  private http: http.Server[] = [];
  private timer: NodeJS.Timeout | undefined;
  private firewallTimer: NodeJS.Timeout | undefined;
  private ipvsTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private injectedRoutesTimer: NodeJS.Timeout | undefined;
  private fallbackTimer: NodeJS.Timeout | undefined;
  private cacheTimer: NodeJS.Timeout | undefined;
  /** Resolves with the reason when the agent gives up (--cache-sync-timeout); the CLI then exits non-zero. */
  readonly gaveUp: Promise<string>;
  private giveUp: (why: string) => void = () => undefined;
  /** What the last run saved, read at start; used until the API server answers. */
  private saved: LastState | undefined;
  // Written by the sync loop only (read by status, health and metrics):
  private phase: Phase = 'starting';
  private routing: Routing | undefined;
  /** The last snapshot handed to the loops. */
  private current: Desired | undefined;
  /** Why sync is waiting for the Node object (logged once per reason). */
  private waitingFor: string | undefined;
  private savedText: string | undefined;
  /** Where the node state in use comes from. */
  private stateSource: 'api' | 'saved' | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: Logger,
  ) {
    this.problems = new Problems(log.child({ component: 'controllers' }));
    this.gaveUp = new Promise((resolve) => (this.giveUp = resolve));
    this.fib = new FibStatus(log.child({ component: 'routes' }));
    const observe = (name: string, ms: number, failed: boolean): void => this.metrics?.observeTask(name, ms, failed);
    this.syncTask = new SerialTask('sync', () => this.sync(), log, observe);
    this.routesTask = new SerialTask<Desired>('routes', (d) => this.routesLoop?.run(d) ?? Promise.resolve(), log, observe);
    this.servicesTask = new SerialTask<Joined>('services', (d) => this.servicesLoop?.run(d) ?? Promise.resolve(), log, observe);
    this.firewallTask = new SerialTask('firewall', () => this.firewallLoop?.run() ?? Promise.resolve(), log, observe);
  }

  /**
   * Health, metrics and the admin socket come up first, so an API server that does not answer
   * is visible there (and in the log) rather than leaving the agent mute; the informers start
   * without being waited for.
   */
  async start(): Promise<void> {
    const c = this.config;
    this.createMetrics();
    const kc = loadKubeConfig(c);
    await this.startEndpoints();
    this.admin = await startAdminServer(
      () => this.routing?.speaker,
      c.adminSocket,
      this.log,
      { '/agent/status': () => this.status() },
      (prefix) => this.fib.view(prefix),
    );
    await this.startGobgpApi();
    if (c.stateFile) this.saved = readLastState(c.stateFile, c.nodeName, this.log);
    this.savedText = this.saved && stateText(this.saved);
    this.cluster = new ClusterWatch(kc, c.nodeName, this.log.child({ component: 'informers' }), { firewall: c.runFirewall });
    if (c.runRouter || c.runServiceProxy || c.runFirewall) {
      const dpLog = this.log.child({ component: 'dataplane' });
      const dp = new DataPlane(c, dpLog, systemDeps(dpLog));
      this.dataplane = dp;
      const [routesAgain, servicesAgain] = [(): void => this.routesTask.trigger(), (): void => this.servicesTask.trigger()];
      if (c.runRouter)
        this.routesLoop = new RoutesLoop(c, dp, this.fib, this.log.child({ component: 'routes' }), this.metrics, routesAgain);
      if (c.runServiceProxy)
        this.servicesLoop = new ServicesLoop(c, this.cluster, dp, this.problems, this.log.child({ component: 'services' }), servicesAgain);
      if (c.runFirewall)
        this.firewallLoop = new FirewallLoop(
          c,
          this.cluster,
          dp,
          this.problems,
          this.log.child({ component: 'firewall' }),
          this.metrics,
          () => (this.current?.phase === 'joined' ? this.current.local.podCidrs : undefined),
        );
      this.drift = new DriftRepair(dp, c.selfHealPeriodMs, this.log.child({ component: 'dataplane' }), (loops, why) =>
        this.runLoops(loops, why),
      );
      this.drift.start();
    }
    if (c.runLoadBalancer) {
      const observe = (name: string, ms: number, failed: boolean): void => this.metrics?.observeTask(name, ms, failed);
      this.lbLoop = new LbLoop(c, kc, this.cluster, this.problems, this.log.child({ component: 'loadbalancer' }), observe);
      this.lbLoop.start();
    }
    this.cluster.on('changed', () => this.syncTask.trigger());
    if (c.runRouter && c.disableSourceDestCheck) {
      const check = new SourceDestCheck(this.log.child({ component: 'aws' }));
      const task = (this.srcDstTask = new SerialTask('source-dest-check', () => check.reconcile(this.cluster!.nodes.list()), this.log));
      this.cluster.nodes.on('changed', () => task.trigger());
    }
    // Policy inputs only (not Node, Service or EndpointSlice churn), enforced as they come,
    // without waiting for the Node or the sync.
    for (const i of this.cluster.policyInputs()) i.on('changed', () => this.firewallTask.trigger());
    if (c.runFirewall) this.firewallTimer = setInterval(() => this.firewallTask.trigger(), c.iptablesSyncPeriodMs);
    // --injected-routes-sync-period: the kernel's routes checked against the RIB even without events (kube-router's route syncer).
    if (c.runRouter) this.injectedRoutesTimer = setInterval(() => this.routesTask.trigger(), c.injectedRoutesSyncPeriodMs);
    // --ipvs-sync-period: a full services run even when nothing was seen to change.
    if (c.runServiceProxy) this.ipvsTimer = setInterval(() => this.servicesTask.trigger(), c.ipvsSyncPeriodMs);
    // --ipvs-graceful-termination: draining real servers are looked at every 5 s (kube-router's tick).
    if (c.runServiceProxy && c.ipvsGracefulPeriodMs !== undefined)
      this.drainTimer = setInterval(() => {
        if (this.dataplane?.draining()) this.servicesTask.trigger();
      }, DRAIN_CHECK_MS);
    void this.cluster.start();
    // --cache-sync-timeout: as kube-router, an agent whose informers have not all listed by then
    // gives up (its pod restarts), unless a saved state keeps the node's networking meanwhile.
    this.cacheTimer = setTimeout(() => {
      const waiting =
        this.cluster
          ?.status()
          .filter((i) => !i.synced)
          .map((i) => i.name) ?? [];
      if (!waiting.length) return;
      const why = `informers not listed within --cache-sync-timeout (${c.cacheSyncTimeoutMs / 1000} s): ${waiting.join(', ')}`;
      if (this.saved) this.log.warn({ waiting }, `${why}; running from the saved state meanwhile`);
      else this.giveUp(why);
    }, c.cacheSyncTimeoutMs);
    if (this.saved) {
      this.fallbackTimer = setTimeout(() => this.syncTask.trigger(), STATE_FALLBACK_MS);
      this.fallbackTimer.unref();
    }
    // Each sync runs the routes and services loops with its snapshot: one run each per period.
    this.timer = setInterval(() => this.syncTask.trigger(), c.routesSyncPeriodMs);
    this.syncTask.trigger();
    this.log.info({ node: c.nodeName, adminSocket: c.adminSocket }, 'agent started');
  }

  /** What stop() is doing now, for the log line when it takes too long (see stop-within.ts). */
  stopStep = 'not stopping';

  async stop(): Promise<void> {
    this.stopStep = 'stopping timers';
    clearInterval(this.timer);
    clearInterval(this.firewallTimer);
    clearInterval(this.ipvsTimer);
    clearInterval(this.drainTimer);
    clearInterval(this.injectedRoutesTimer);
    clearTimeout(this.fallbackTimer);
    clearTimeout(this.cacheTimer);
    this.drift?.stop();
    this.srcDstTask?.stop();
    this.routesLoop?.stop();
    this.stopStep = 'waiting for the load-balancer loop';
    await this.lbLoop?.stop();
    for (const t of this.tasks()) t.stop();
    for (const t of this.tasks()) {
      this.stopStep = `waiting for the ${t.name} run in progress`;
      await t.idle();
    }
    this.stopStep = 'stopping the informers';
    await this.cluster?.stop();
    this.stopStep = 'closing the BGP sessions';
    await this.enter('stop');
    this.stopStep = 'closing the servers';
    this.admin?.close();
    for (const server of this.gobgpApi) server.close();
    for (const server of this.http) server.close();
    this.dataplane?.close();
  }

  /** GoBGP's gRPC API for the gobgp CLI; a port taken elsewhere costs that view, not the node's networking. */
  private async startGobgpApi(): Promise<void> {
    const g = this.config.gobgpAdmin;
    if (!g) return;
    try {
      this.gobgpApi = await startGobgpApi(() => this.routing?.speaker, g.addresses, g.port, this.log.child({ component: 'gobgp-api' }));
      this.log.info({ addresses: g.addresses, port: g.port }, "GoBGP's gRPC API (read-only) listening");
    } catch (e) {
      this.log.error(
        { err: (e as Error).message, addresses: g.addresses, port: g.port },
        "GoBGP's gRPC API not started; the agent runs on without it",
      );
    }
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
        ...serviceIpRanges(c),
        ipv4: c.ipv4,
        ipv6: c.ipv6,
      },
      this.problems,
    );
    return { vips, serviceIps: allServiceIps(services), live: cluster.services.synced && cluster.endpointSlices.synced };
  }

  private async sync(): Promise<void> {
    const nodes = this.nodesView();
    if (!nodes) return;
    const c = this.config;
    const local = nodes.local;
    const nodeIp = local && primaryIp(local, c);
    if (!local || !nodeIp) {
      const why = !local
        ? 'no Node object with this name (see --hostname-override)'
        : 'the Node object has no InternalIP or ExternalIP address';
      await this.enter('nodeMissing', why);
      return;
    }
    this.waitingFor = undefined;
    await this.enter('nodeReady', local);
    if (local.podCidrs.length === 0)
      this.log.warn({ node: c.nodeName }, 'the Node has no pod CIDR (spec.podCIDRs or kube-router.io/pod-cidr): nothing to advertise');
    const services = this.servicesView(local);
    const d = snapshot({ phase: 'joined', nodes, local, nodeIp, vips: services.vips, routing: this.routing });
    const podCidrsBefore = this.current?.phase === 'joined' ? this.current.local.podCidrs.join() : undefined;
    this.current = d;
    // The firewall's default deny covers this node's pod CIDRs: it learns them from here.
    if (c.runFirewall && c.netpolDefaultDeny && podCidrsBefore !== local.podCidrs.join()) this.firewallTask.trigger();
    if (c.runServiceProxy) this.servicesTask.trigger(d);
    if (!c.runRouter || !this.routing) return;
    this.routing.sync({
      local,
      internalPeers: nodes.internalPeers,
      vips: services.vips,
      serviceIps: services.serviceIps,
      clusterSize: nodes.nodes.length,
    });
    try {
      await this.dataplane!.reconcileSetup({ podCidrs: local.podCidrs, podSubnets: nodes.podSubnets, nodeIps: nodes.nodeIps, nodeIp });
      if (this.stateSource === 'api' && services.live) this.saveState(nodes, services.vips, services.serviceIps);
    } finally {
      // Routes do not wait for a setup that failed (it is retried on its own).
      this.routesTask.trigger(d);
    }
  }

  /**
   * Runs a phase event through the table and its actions. Leaving (the Node object deleted, as
   * with `kubectl delete node`): the node stops peering and advertising and drops the routes it
   * learned; the data path for local pods stays, and the Node coming back starts BGP again.
   */
  private async enter(event: PhaseEvent, about?: LocalNode | string): Promise<void> {
    const from = this.phase;
    const t = transition(from, event);
    this.phase = t.next;
    if (event === 'nodeMissing' && typeof about === 'string') {
      if (t.next === 'leaving' && from !== 'leaving') {
        this.log.warn(
          { node: this.config.nodeName },
          `${about}: leaving the cluster (BGP sessions closed, learned routes removed) until it is back`,
        );
      } else if (this.waitingFor !== about) this.log.warn({ node: this.config.nodeName }, `${about}; waiting`);
      this.waitingFor = about;
    }
    for (const action of t.actions) {
      if (action === 'startBgp' && this.config.runRouter && typeof about === 'object') await this.startBgp(about);
      if (action === 'stopBgp' || action === 'releaseBgp') {
        const routing = this.routing;
        this.routing = undefined;
        await routing?.stop({ graceful: action === 'releaseBgp' });
      }
      if (action === 'clearRoutes') {
        this.current = snapshot({ phase: 'leaving' });
        // The kernel is changed by the routes loop only, so a run under way cannot put back
        // what this removes: the loop runs again with this snapshot.
        this.routesTask.trigger(this.current);
      }
    }
  }

  private async startBgp(local: LocalNode): Promise<void> {
    const routing = new Routing(this.config, local, this.log.child({ component: 'bgp' }), (type) =>
      this.metrics?.advertisementsSent.inc({ type }),
    );
    await routing.start();
    routing.speaker.on('bestChanges', (changes) => {
      this.metrics?.advertisementsReceived.inc(changes.length);
      this.routesTask.trigger();
    });
    routing.speaker.on('endOfRib', () => this.routesTask.trigger());
    this.routing = routing;
    this.log.info(
      { asn: routing.asn, routerId: routing.speaker.options.routerId, nodeIp: primaryIp(local, this.config) },
      'BGP speaker started',
    );
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

  /** Runs the loops that own what changed (only those this agent runs). */
  private runLoops(loops: Set<Loop>, why: string): void {
    if (loops.size === 0) return;
    this.log.debug({ loops: [...loops], why }, 'repairing drift');
    if (loops.has('setup')) this.syncTask.trigger();
    if (loops.has('routes') && this.config.runRouter) this.routesTask.trigger();
    if (loops.has('services') && this.config.runServiceProxy) this.servicesTask.trigger();
    if (loops.has('firewall') && this.config.runFirewall) this.firewallTask.trigger();
  }

  /** The loops this agent runs (the service proxy's only with --run-service-proxy). */
  private tasks(): SerialTask<never>[] {
    const c = this.config;
    return [
      this.syncTask,
      this.routesTask,
      ...(c.runServiceProxy ? [this.servicesTask] : []),
      ...(c.runFirewall ? [this.firewallTask] : []),
    ] as SerialTask<never>[];
  }

  /** /healthz's verdict (see health.ts). */
  health(): HealthReport {
    return checkHealth({
      now: Date.now(),
      startedAt: this.startedAt,
      periodMs: this.config.routesSyncPeriodMs,
      tasks: this.tasks().map((t) => ({
        name: t.name,
        lastSuccessAt: t.lastSuccessAt,
        firstSuccessAt: t.firstSuccessAt,
        ...(t.name === this.firewallTask.name ? { periodMs: this.config.iptablesSyncPeriodMs } : {}),
      })),
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
        ...(this.config.runServiceProxy ? { ipvsServices: () => this.ipvsServiceSamples() } : {}),
      },
      VERSION,
    );
  }

  /** Our virtual servers with the IPVS counters of each, for kube-router's per-service metrics. */
  private async ipvsServiceSamples(): Promise<IpvsServiceSample[]> {
    const proxy = this.servicesLoop?.proxy;
    if (!proxy || !this.dataplane) return [];
    const stats = await this.dataplane.ipvsStats();
    return proxy.virtualServers.flatMap((v) => {
      const s = stats.get(ipvsKey(v));
      // "namespace/name:port-name"
      const m = /^([^/]*)\/([^:]*):/.exec(v.service);
      return s && m ? [{ namespace: m[1]!, name: m[2]!, vip: v.address, protocol: v.protocol, port: v.port, stats: s }] : [];
    });
  }

  private async startEndpoints(): Promise<void> {
    const c = this.config;
    const endpoints: Endpoint[] = [];
    const metrics = this.metrics;
    if (c.metrics && metrics) {
      endpoints.push({
        ...c.metrics,
        handler: async () => ({ status: 200, contentType: metrics.registry.contentType, body: await metrics.scrape() }),
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
    if (c.enablePprof) endpoints.push(...profilingEndpoints());
    this.http = await startEndpoints(endpoints, this.log.child({ component: 'http' }));
  }

  async status(): Promise<AgentStatus> {
    const joined = this.current?.phase === 'joined' ? this.current : undefined;
    const local = joined?.local;
    const proxy = this.servicesLoop?.proxy;
    const s: AgentStatus = {
      node: this.config.nodeName,
      podCidrs: local?.podCidrs ?? [],
      ready: !!this.routing,
      informers: this.cluster?.status() ?? [],
      localPods: computeLocalPods(this.cluster?.pods.list() ?? [], this.config.nodeName),
      advertisedVips: [...(joined?.vips ?? [])],
      internalPeers: joined?.nodes.internalPeers.map((p) => `${p.node} ${p.address}`) ?? [],
      kernelRoutes: (await this.dataplane?.installedRoutes()) ?? [],
      tunnels: (await this.dataplane?.tunnelStatus()) ?? [],
      unreachableRoutes: this.routesLoop?.unreachable ?? [],
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
      memory: { rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed },
    };
    const ip = local && primaryIp(local, this.config);
    if (ip) s.nodeIp = ip;
    if (this.firewallLoop?.view) s.firewall = this.firewallLoop.view;
    if (this.lbLoop) s.loadBalancer = { leader: this.lbLoop.leading, given: this.lbLoop.given.slice(-20) };
    if (proxy) {
      s.serviceProxy = {
        vips: proxy.vips,
        virtualServers: proxy.virtualServers.map(
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
