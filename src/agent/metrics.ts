/**
 * Prometheus metrics of one agent, in a registry of its own (no prom-client global). Names
 * follow kube-router's where it has the same thing (kube_router_ prefix, bgp_peer_info,
 * controller_*_sync_time in seconds, host_routes_*); the rest is what an operator needs that
 * kube-router lacks. Speaker, informer and kernel figures are read when Prometheus scrapes, so
 * they are never stale; events (syncs, route changes, advertisements) are counted as they happen.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NeighborView } from '../../bgp';
import type { InformerStatus } from '../../controllers/cluster-watch';
import type { IpvsStats } from '../dataplane/ipvs';
import type { Registered, Sample } from './metrics-text';
import { familyText, registryText } from './metrics-text';

export const PREFIX = 'kube_router_';

/** What the metrics read at scrape time; each source may be absent (e.g. before the Node exists). */
export interface MetricSources {
  peers(): NeighborView[];
  peerType(address: string): string;
  informers(): InformerStatus[];
  /** Routes in the kernel (all tables) by routing protocol name. */
  kernelRoutes(): Promise<Record<string, number>>;
  /** Learned routes kept out of the kernel, by reason. */
  notInstalled(): Record<string, number>;
  healthy(): boolean;
  /** With the service proxy: each of our virtual servers with its service and IPVS counters. */
  ipvsServices?(): Promise<IpvsServiceSample[]>;
}

/** Sources that have nothing to tell (for the README table, and for tests to override). */
export const EMPTY_SOURCES: MetricSources = {
  peers: () => [],
  peerType: () => 'external',
  informers: () => [],
  kernelRoutes: async () => ({}),
  notInstalled: () => ({}),
  healthy: () => true,
};

export interface IpvsServiceSample {
  namespace: string;
  name: string;
  vip: string;
  protocol: string;
  port: number;
  stats: IpvsStats;
}

/** kube-router's per-service IPVS metrics: name, help, the figure. */
const SERVICE_METRICS: [string, string, keyof IpvsStats][] = [
  ['service_total_connections', 'Total incoming connections made', 'connections'],
  ['service_packets_in', 'Total incoming packets', 'packetsIn'],
  ['service_packets_out', 'Total outgoing packets', 'packetsOut'],
  ['service_bytes_in', 'Total incoming bytes', 'bytesIn'],
  ['service_bytes_out', 'Total outgoing bytes', 'bytesOut'],
  ['service_pps_in', 'Incoming packets per second', 'ppsIn'],
  ['service_pps_out', 'Outgoing packets per second', 'ppsOut'],
  ['service_cps', 'Service connections per second', 'cps'],
  ['service_bps_in', 'Incoming bytes per second', 'bpsIn'],
  ['service_bps_out', 'Outgoing bytes per second', 'bpsOut'],
];

const SYNC_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STATE_NUMBER: Record<string, number> = { Idle: 0, Connect: 1, Active: 2, OpenSent: 3, OpenConfirm: 4, Established: 5 };
const MESSAGE_TYPES: Record<string, string> = {
  open: 'open',
  update: 'update',
  keepalive: 'keepalive',
  notification: 'notification',
  routeRefresh: 'route_refresh',
};

/** What one scrape reads from the sources, once for all the series it feeds. */
interface Snapshot {
  peers: NeighborView[];
  informers: InformerStatus[];
  ipvs: Promise<IpvsServiceSample[]>;
}

/** A metric family read whole from the sources at each scrape. */
interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labelNames: string[];
  samples(s: Snapshot): Sample[] | Promise<Sample[]>;
}

export class AgentMetrics {
  /** prom-client's metrics: the default ones and what is counted or observed as it happens. */
  readonly registry = new Registry();
  private readonly scraped: Family[] = [];
  readonly advertisementsReceived: Counter;
  readonly advertisementsSent: Counter<'type'>;
  readonly internalPeersSyncTime: Histogram;
  readonly routesSyncTime: Histogram;
  readonly hostRoutesSyncTime: Histogram;
  readonly hostRoutesSynced: Gauge;
  readonly hostRoutesAdded: Counter;
  readonly hostRoutesRemoved: Counter;
  readonly routeInstallErrors: Counter;
  readonly syncDuration: Histogram<'controller'>;
  readonly syncErrors: Counter<'controller'>;
  readonly policyChainsSyncTime: Histogram;
  readonly policyIpsetRestoreTime: Histogram;
  readonly policyChains: Gauge;
  readonly policyIpsets: Gauge;
  readonly ipvsServicesSyncTime: Histogram;

  constructor(
    private readonly sources: MetricSources,
    version: string,
  ) {
    const registers = [this.registry];
    const src = sources;
    collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: `${PREFIX}build_info`,
      help: 'Version and build information (always 1)',
      labelNames: ['version', 'nodeversion'],
      registers,
    }).set({ version, nodeversion: process.version }, 1);
    this.advertisementsReceived = new Counter({
      name: `${PREFIX}controller_bgp_advertisements_received`,
      help: 'BGP best-path changes received from peers',
      registers,
    });
    this.advertisementsSent = new Counter({
      name: `${PREFIX}controller_bgp_advertisements_sent`,
      help: 'Prefixes this node started or stopped originating, by type (pod-route, withdraw-pod-route, advertise-vip, withdraw-vip)',
      labelNames: ['type'],
      registers,
    });
    this.internalPeersSyncTime = new Histogram({
      name: `${PREFIX}controller_bgp_internal_peers_sync_time`,
      help: 'Time the sync from the informer caches (peers, advertisements, data path setup) took, seconds',
      buckets: SYNC_BUCKETS,
      registers,
    });
    this.routesSyncTime = new Histogram({
      name: `${PREFIX}controller_routes_sync_time`,
      help: 'Time a route sync (plan and kernel reconcile) took, seconds',
      buckets: SYNC_BUCKETS,
      registers,
    });
    this.hostRoutesSyncTime = new Histogram({
      name: `${PREFIX}host_routes_sync_time`,
      help: 'Time applying the planned routes, tunnels and rules to the kernel took, seconds',
      buckets: SYNC_BUCKETS,
      registers,
    });
    this.hostRoutesSynced = new Gauge({
      name: `${PREFIX}host_routes_synced`,
      help: 'Routes of ours (protocol 44) in the kernel after the last sync',
      registers,
    });
    this.hostRoutesAdded = new Counter({
      name: `${PREFIX}host_routes_added`,
      help: 'Routes added to or replaced in the kernel',
      registers,
    });
    this.hostRoutesRemoved = new Counter({ name: `${PREFIX}host_routes_removed`, help: 'Routes removed from the kernel', registers });
    this.routeInstallErrors = new Counter({
      name: `${PREFIX}host_route_install_errors_total`,
      help: 'Kernel route changes that failed',
      registers,
    });
    this.syncDuration = new Histogram({
      name: `${PREFIX}controller_sync_duration_seconds`,
      help: 'Duration of each reconcile loop run, by loop (sync, routes, services, firewall)',
      labelNames: ['controller'],
      buckets: SYNC_BUCKETS,
      registers,
    });
    this.syncErrors = new Counter({
      name: `${PREFIX}controller_sync_errors_total`,
      help: 'Failed reconcile loop runs, by loop (sync, routes, services, firewall)',
      labelNames: ['controller'],
      registers,
    });

    this.policyChainsSyncTime = new Histogram({
      name: `${PREFIX}controller_policy_chains_sync_time`,
      help: 'Time a network policy sync (plan, ipsets and iptables chains) took, seconds',
      buckets: SYNC_BUCKETS,
      registers,
    });
    this.policyIpsetRestoreTime = new Histogram({
      name: `${PREFIX}controller_policy_ipset_v4_restore_time`,
      help: 'Time an ipset restore of the network policy sets took, seconds (both families: one restore)',
      buckets: SYNC_BUCKETS,
      registers,
    });
    this.policyChains = new Gauge({
      name: `${PREFIX}controller_policy_chains`,
      help: 'iptables chains of the network policy firewall (all families)',
      registers,
    });
    this.policyIpsets = new Gauge({ name: `${PREFIX}controller_policy_ipsets`, help: 'ipsets of the network policy firewall', registers });

    this.ipvsServicesSyncTime = new Histogram({
      name: `${PREFIX}controller_ipvs_services_sync_time`,
      help: 'Time a service proxy sync (plan, kube-dummy-if, IPVS, SNAT rules) took, seconds',
      buckets: SYNC_BUCKETS,
      registers,
    });

    // Read whole from the sources at each scrape: a peer or informer that goes away takes its
    // series with it, and Prometheus treats a new session's counters as a reset. Written by
    // scrape() itself rather than set on prom-client gauges, which would hash every label set
    // again at every scrape.
    const scraped = (type: 'gauge' | 'counter', name: string, help: string, labelNames: string[], samples: Family['samples']): void => {
      this.scraped.push({ name: `${PREFIX}${name}`, help, type, labelNames, samples });
    };
    const perPeer = (name: string, help: string, value: (p: NeighborView) => number, type: 'gauge' | 'counter' = 'gauge'): void =>
      scraped(type, name, help, ['peer', 'type'], (s) =>
        s.peers.map((p) => ({ labels: { peer: p.address, type: src.peerType(p.address) }, value: value(p) })),
      );
    const perInformer = (type: 'gauge' | 'counter', name: string, help: string, value: (i: InformerStatus) => number): void =>
      scraped(type, name, help, ['resource'], (s) => s.informers.map((i) => ({ labels: { resource: i.name }, value: value(i) })));

    scraped('gauge', 'bgp_peer_info', 'BGP peer information (always 1; the labels carry it)', ['address', 'type', 'asn', 'state'], (s) =>
      s.peers.map((p) => ({
        labels: { address: p.address, type: src.peerType(p.address), asn: String(p.asn), state: p.state.toLowerCase() },
        value: 1,
      })),
    );
    perPeer(
      'bgp_peer_state',
      'BGP session state: 0 Idle, 1 Connect, 2 Active, 3 OpenSent, 4 OpenConfirm, 5 Established',
      (p) => STATE_NUMBER[p.state] ?? 0,
    );
    perPeer('bgp_peer_uptime_seconds', 'Seconds the session has been Established (0 when it is not)', (p) =>
      p.state === 'Established' ? p.uptime : 0,
    );
    perPeer('bgp_peer_prefixes_received', 'Prefixes the peer sent us and we hold (Adj-RIB-In)', (p) => p.received);
    perPeer('bgp_peer_prefixes_accepted', 'Prefixes from the peer that passed our import policy', (p) => p.accepted);
    perPeer('bgp_peer_prefixes_advertised', 'Prefixes we advertise to the peer (Adj-RIB-Out)', (p) => p.advertised);
    perPeer('bgp_peer_flaps', 'Times the session left Established', (p) => p.flaps);
    scraped(
      'gauge',
      'bgp_peer_max_prefixes',
      'Prefix limit per family of a peer (max-prefix; absent when none): over it the session is closed with Cease/1',
      ['peer', 'type'],
      (s) =>
        s.peers
          .filter((p) => p.maxPrefixes !== undefined)
          .map((p) => ({ labels: { peer: p.address, type: src.peerType(p.address) }, value: p.maxPrefixes! })),
    );
    perPeer(
      'bgp_routes_not_sent_total',
      'Routes withheld from a peer because their path attributes cannot be encoded for it in a 4096-octet UPDATE',
      (p) => p.routesNotSent,
      'counter',
    );
    perPeer(
      'bgp_connections_refused_total',
      "Connections from a neighbour's address refused at once (a session was Established, or two were being set up)",
      (p) => p.connectionsRefused,
      'counter',
    );
    for (const dir of ['received', 'sent'] as const) {
      scraped('counter', `bgp_messages_${dir}_total`, `BGP messages ${dir}, by peer and message type`, ['peer', 'type'], (s) =>
        s.peers.flatMap((p) =>
          Object.entries(MESSAGE_TYPES).map(([k, type]) => ({
            labels: { peer: p.address, type },
            value: p.messages[dir][k as keyof typeof p.messages.sent] ?? 0,
          })),
        ),
      );
    }
    scraped(
      'counter',
      'bgp_notifications_total',
      'BGP NOTIFICATIONs by peer, direction (sent, received), error code and subcode',
      ['peer', 'direction', 'code', 'subcode'],
      (s) =>
        s.peers.flatMap((p) =>
          (['sent', 'received'] as const).flatMap((direction) =>
            Object.entries(p.notifications[direction]).map(([key, value]) => {
              const [code, subcode] = key.split('/');
              return { labels: { peer: p.address, direction, code: code!, subcode: subcode! }, value };
            }),
          ),
        ),
    );
    perInformer('gauge', 'informer_synced', '1 once the informer has listed its resource', (i) => (i.synced ? 1 : 0));
    perInformer('gauge', 'informer_objects', 'Objects in the informer cache', (i) => i.objects);
    perInformer(
      'counter',
      'informer_lists_total',
      'Full lists by the informer: the first, and one after each 410 Gone or restart',
      (i) => i.lists,
    );
    perInformer('counter', 'informer_restarts_total', 'Informer restarts after errors other than 410 Gone', (i) => i.restarts);
    scraped('gauge', 'kernel_routes', 'Routes in the node kernel (all tables, IPv4 and IPv6) by routing protocol', ['protocol'], async () =>
      Object.entries(await src.kernelRoutes()).map(([protocol, value]) => ({ labels: { protocol }, value })),
    );
    scraped(
      'gauge',
      'learned_routes_not_installed',
      'Learned routes kept out of the kernel, by reason: default-route (refused at import),' +
        ' own-prefix (inside a node subnet, its pod CIDR or the service range), foreign-route (another protocol holds the destination), no-next-hop, kernel-error',
      ['reason'],
      () => Object.entries(src.notInstalled()).map(([reason, value]) => ({ labels: { reason }, value })),
    );
    if (src.ipvsServices) {
      scraped('gauge', 'controller_ipvs_services', 'Number of ipvs services in the instance', [], async (s) => [
        { value: (await s.ipvs).length },
      ]);
      const labels = ['svc_namespace', 'service_name', 'service_vip', 'protocol', 'port'];
      for (const [name, help, figure] of SERVICE_METRICS)
        scraped('gauge', name, help, labels, async (s) =>
          (await s.ipvs).map((v) => ({
            labels: { svc_namespace: v.namespace, service_name: v.name, service_vip: v.vip, protocol: v.protocol, port: String(v.port) },
            value: v.stats[figure],
          })),
        );
    }
    scraped('gauge', 'healthy', 'What /healthz answers: 1 healthy, 0 not', [], () => [{ value: src.healthy() ? 1 : 0 }]);
  }

  /**
   * The exposition, for one scrape: prom-client's metrics (the default ones, and what is counted
   * as it happens), then what is read from the sources now. Each source is read once per scrape,
   * whatever number of series it feeds.
   */
  async scrape(): Promise<string> {
    let out = await registryText(this.registry);
    const src = this.sources;
    const ipvs = src.ipvsServices;
    const snapshot: Snapshot = {
      peers: src.peers(),
      informers: src.informers(),
      ipvs: ipvs ? ipvs.call(src).catch(() => []) : Promise.resolve([]),
    };
    for (const f of this.scraped) out += familyText(f.name, f.help, f.type, await f.samples(snapshot));
    return out;
  }

  /** Every metric family: name, type, label names and help (the README's table). */
  families(): { name: string; type: string; labelNames: string[]; help: string }[] {
    const registered = this.registry.getMetricsAsArray().map((x) => {
      const m = x as unknown as Registered;
      return { name: m.name, type: m.type, labelNames: m.labelNames ?? [], help: m.help };
    });
    return [...registered, ...this.scraped.map(({ name, type, labelNames, help }) => ({ name, type, labelNames, help }))];
  }

  /** Records one run of a reconcile loop (sync or routes). */
  observeTask(name: string, ms: number, failed: boolean): void {
    this.syncDuration.observe({ controller: name }, ms / 1000);
    if (failed) this.syncErrors.inc({ controller: name });
    else if (name === 'sync') this.internalPeersSyncTime.observe(ms / 1000);
    else if (name === 'routes') this.routesSyncTime.observe(ms / 1000);
    else if (name === 'services') this.ipvsServicesSyncTime.observe(ms / 1000);
  }
}
