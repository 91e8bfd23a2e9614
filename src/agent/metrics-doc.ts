/** The README's metrics table, rendered from the metric definitions themselves (so it cannot drift). */
import { AgentMetrics, EMPTY_SOURCES, PREFIX } from './metrics';

const KUBE_ROUTER_NAMES = new Set([
  'build_info',
  'bgp_peer_info',
  'controller_bgp_advertisements_received',
  'controller_bgp_advertisements_sent',
  'controller_bgp_internal_peers_sync_time',
  'controller_routes_sync_time',
  'host_routes_sync_time',
  'host_routes_synced',
  'host_routes_added',
  'host_routes_removed',
  'controller_policy_chains_sync_time',
  'controller_policy_ipset_v4_restore_time',
  'controller_policy_chains',
  'controller_policy_ipsets',
  'controller_ipvs_services_sync_time',
  'controller_ipvs_services',
  'service_total_connections',
  'service_packets_in',
  'service_packets_out',
  'service_bytes_in',
  'service_bytes_out',
  'service_pps_in',
  'service_pps_out',
  'service_cps',
  'service_bps_in',
  'service_bps_out',
]);

export function metricsMarkdown(): string {
  // Listed as with --run-service-proxy (the per-service series exist only then).
  const none = { ...EMPTY_SOURCES, ipvsServices: async () => [] };
  const m = new AgentMetrics(none, '0');
  const rows = m
    .families()
    .filter((x) => x.name.startsWith(PREFIX))
    .map(({ name, type, labelNames, help }) => {
      const short = name.slice(PREFIX.length);
      return `| \`${name}\` | ${type} | ${labelNames.join(', ')} | ${help}${KUBE_ROUTER_NAMES.has(short) ? ' (as kube-router)' : ''} |`;
    });
  return ['| metric | type | labels | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

if (require.main === module) {
  process.stdout.write(`${metricsMarkdown()}\n`);
  process.exit(0); // the default collectors keep a timer
}
