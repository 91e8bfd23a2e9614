import fs from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AgentMetrics, EMPTY_SOURCES } from '../../src/agent/metrics';
import { metricsMarkdown } from '../../src/agent/metrics-doc';
import { registryText } from '../../src/agent/metrics-text';
import { run } from '../../src/util/exec';
import type { NeighborView } from '../../bgp/admin/views';
import { State } from '../../bgp/fsm/states';

const peer = (address: string, over: Partial<NeighborView> = {}): NeighborView => ({
  address,
  asn: 64512,
  state: State.Established,
  uptime: 42,
  families: ['ipv4-unicast'],
  capabilities: [],
  received: 3,
  accepted: 2,
  advertised: 1,
  messages: {
    received: { open: 1, update: 7, notification: 0, keepalive: 4, routeRefresh: 1, total: 13 },
    sent: { open: 1, update: 2, notification: 1, keepalive: 4, routeRefresh: 0, total: 8 },
  },
  notifications: { sent: { '6/2': 1 }, received: { '3/1': 2 } },
  flaps: 1,
  routesNotSent: 2,
  connectionsRefused: 200,
  maxPrefixes: 1000,
  passive: false,
  ...over,
});

describe('agent metrics (exposition read from the sources at scrape time)', () => {
  let peers: NeighborView[] = [];
  const metrics = new AgentMetrics(
    {
      peers: () => peers,
      peerType: (a) => (a === '10.0.0.254' ? 'external' : 'internal'),
      informers: () => [{ name: 'nodes', synced: true, lists: 2, restarts: 1, objects: 3 }],
      kernelRoutes: async () => ({ kernel: 4, '44': 2 }),
      notInstalled: () => ({ 'default-route': 1, 'own-prefix': 2 }),
      healthy: () => false,
    },
    '9.9.9',
  );
  const scrape = () => metrics.scrape();

  it('shows per-peer state, uptime, prefixes, messages and NOTIFICATIONs by code and subcode', async () => {
    peers = [peer('10.0.0.12'), peer('10.0.0.254', { asn: 64513, state: State.Active, uptime: 5 })];
    const text = await scrape();
    for (const line of [
      'kube_router_build_info{version="9.9.9",nodeversion="' + process.version + '"} 1',
      'kube_router_bgp_peer_info{address="10.0.0.12",type="internal",asn="64512",state="established"} 1',
      'kube_router_bgp_peer_info{address="10.0.0.254",type="external",asn="64513",state="active"} 1',
      'kube_router_bgp_peer_state{peer="10.0.0.254",type="external"} 2',
      'kube_router_bgp_peer_uptime_seconds{peer="10.0.0.12",type="internal"} 42',
      'kube_router_bgp_peer_uptime_seconds{peer="10.0.0.254",type="external"} 0',
      'kube_router_bgp_peer_prefixes_received{peer="10.0.0.12",type="internal"} 3',
      'kube_router_bgp_peer_prefixes_accepted{peer="10.0.0.12",type="internal"} 2',
      'kube_router_bgp_peer_prefixes_advertised{peer="10.0.0.12",type="internal"} 1',
      'kube_router_bgp_messages_received_total{peer="10.0.0.12",type="update"} 7',
      'kube_router_bgp_messages_received_total{peer="10.0.0.12",type="route_refresh"} 1',
      'kube_router_bgp_messages_sent_total{peer="10.0.0.12",type="notification"} 1',
      'kube_router_bgp_notifications_total{peer="10.0.0.12",direction="sent",code="6",subcode="2"} 1',
      'kube_router_bgp_notifications_total{peer="10.0.0.12",direction="received",code="3",subcode="1"} 2',
      'kube_router_bgp_routes_not_sent_total{peer="10.0.0.12",type="internal"} 2',
      'kube_router_bgp_connections_refused_total{peer="10.0.0.12",type="internal"} 200',
      'kube_router_bgp_peer_max_prefixes{peer="10.0.0.12",type="internal"} 1000',
      'kube_router_informer_lists_total{resource="nodes"} 2',
      'kube_router_informer_restarts_total{resource="nodes"} 1',
      'kube_router_kernel_routes{protocol="44"} 2',
      'kube_router_learned_routes_not_installed{reason="default-route"} 1',
      'kube_router_learned_routes_not_installed{reason="own-prefix"} 2',
      'kube_router_healthy 0',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });

  it('reads each source once per scrape, whatever number of series it feeds', async () => {
    let reads = 0;
    const counted = new AgentMetrics(
      {
        ...EMPTY_SOURCES,
        peers: () => {
          reads++;
          return [peer('10.0.0.12')];
        },
      },
      '9.9.9',
    );
    const text = await counted.scrape();
    expect(text).toContain('kube_router_bgp_peer_flaps{peer="10.0.0.12",type="external"} 1');
    expect(reads).toBe(1);
  });

  it('is an exposition Prometheus parses (promtool), with label values that need escaping', async () => {
    peers = [peer('10.0.0.12', { notifications: { sent: { 'a"b\\c\nd/1': 1 }, received: {} } })];
    const text = await scrape();
    expect(text).toContain('kube_router_bgp_notifications_total{peer="10.0.0.12",direction="sent",code="a\\"b\\\\c\\nd",subcode="1"} 1');
    // Exit 3 is lint advice only (kube-router's counter names lack _total); 1 is a parse error.
    const r = await run('promtool', ['check', 'metrics'], { input: text, allowFail: true });
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/pars/i);
    expect([0, 3]).toContain(r.code);
  });

  it('drops the series of a peer that is gone', async () => {
    peers = [peer('10.0.0.12')];
    const text = await scrape();
    expect(text).toContain('peer="10.0.0.12"');
    expect(text).not.toContain('10.0.0.254');
  });

  it('records reconcile runs: durations by loop, errors counted, kube-router names for the sync times', async () => {
    metrics.observeTask('routes', 20, false);
    metrics.observeTask('routes', 30, true);
    metrics.observeTask('sync', 5, false);
    const text = await scrape();
    expect(text).toMatch(/^kube_router_controller_sync_duration_seconds_count\{controller="routes"\} 2$/m);
    expect(text).toMatch(/^kube_router_controller_sync_errors_total\{controller="routes"\} 1$/m);
    expect(text).toMatch(/^kube_router_controller_routes_sync_time_count 1$/m);
    expect(text).toMatch(/^kube_router_controller_bgp_internal_peers_sync_time_count 1$/m);
  });
});

describe('per-service IPVS metrics (with the service proxy), under kube-router names and labels', () => {
  const stats = {
    connections: 7,
    packetsIn: 70,
    packetsOut: 60,
    bytesIn: 7000,
    bytesOut: 6000,
    cps: 1,
    ppsIn: 2,
    ppsOut: 3,
    bpsIn: 4,
    bpsOut: 5,
  };
  let reads = 0;
  const metrics = new AgentMetrics(
    {
      ...EMPTY_SOURCES,
      ipvsServices: async () => {
        reads++;
        return [
          { namespace: 'default', name: 'web', vip: '10.96.0.100', protocol: 'tcp', port: 80, stats },
          { namespace: 'default', name: 'web', vip: '10.0.0.11', protocol: 'tcp', port: 30080, stats: { ...stats, connections: 2 } },
        ];
      },
    },
    '9.9.9',
  );

  it('one series per virtual server and figure, the table read once per scrape; the sync time observed', async () => {
    metrics.observeTask('services', 40, false);
    const text = await metrics.scrape();
    const l = (vip: string, port: number) =>
      `{svc_namespace="default",service_name="web",service_vip="${vip}",protocol="tcp",port="${port}"}`;
    for (const line of [
      `kube_router_service_total_connections${l('10.96.0.100', 80)} 7`,
      `kube_router_service_total_connections${l('10.0.0.11', 30080)} 2`,
      `kube_router_service_packets_in${l('10.96.0.100', 80)} 70`,
      `kube_router_service_bytes_out${l('10.96.0.100', 80)} 6000`,
      `kube_router_service_pps_out${l('10.96.0.100', 80)} 3`,
      `kube_router_service_cps${l('10.96.0.100', 80)} 1`,
      `kube_router_service_bps_in${l('10.96.0.100', 80)} 4`,
      'kube_router_controller_ipvs_services 2',
      'kube_router_controller_ipvs_services_sync_time_count 1',
    ])
      expect(text.split('\n')).toContain(line);
    expect(reads).toBe(1);
  });
});

describe('text exposition', () => {
  it("gives the lines prom-client's own writer gives, for every metric type, with escaping", async () => {
    const registry = new Registry();
    const registers = [registry];
    const c = new Counter({ name: 'c_total', help: 'a \\ help\nline', labelNames: ['l'], registers });
    c.inc({ l: 'plain' }, 2);
    c.inc({ l: 'q"uote\\back\nnl' }, 1.5);
    new Gauge({ name: 'g', help: 'gauge', registers }).set(-Infinity);
    new Gauge({ name: 'g_empty', help: 'no series', labelNames: ['x'], registers });
    const h = new Histogram({ name: 'h', help: 'histogram', labelNames: ['k'], buckets: [0.1, 1], registers });
    h.observe({ k: 'a' }, 0.5);
    h.observe({ k: 'b' }, 5);
    new Histogram({ name: 'h_plain', help: 'no labels', buckets: [1], registers }).observe(0.25);
    const ours = await registryText(registry);
    const theirs = await registry.metrics();
    expect(ours.split('\n').filter(Boolean)).toEqual(theirs.split('\n').filter(Boolean));
    expect(ours).toContain('c_total{l="q\\"uote\\\\back\\nnl"} 1.5');
    expect(ours).toContain('h_bucket{le="+Inf",k="b"} 1');
  });
});

describe('README metrics table', () => {
  it('is the one generated from the metric definitions (node dist/src/agent/metrics-doc.js)', () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    expect(readme).toContain(metricsMarkdown());
  });
});
