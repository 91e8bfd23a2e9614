import fs from 'node:fs';
import path from 'node:path';
import { AgentMetrics } from '../../src/agent/metrics';
import { metricsMarkdown } from '../../src/agent/metrics-doc';
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
  const scrape = () => metrics.registry.metrics();

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

describe('README metrics table', () => {
  it('is the one generated from the metric definitions (node dist/src/agent/metrics-doc.js)', () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    expect(readme).toContain(metricsMarkdown());
  });
});
