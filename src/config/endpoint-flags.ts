/**
 * The flags of the agent's HTTP endpoints (metrics, health, profiling), as kube-router names them
 * (part of the agent's one option table, agent-config.ts; parsed and validated there).
 */
import type { Options } from 'yargs';

export const ENDPOINT_OPTIONS = {
  'metrics-port': { type: 'string', default: '0', describe: 'Prometheus metrics port (0: disabled).' },
  'metrics-addr': { type: 'string', default: '', describe: 'Prometheus metrics address to listen on (default: all interfaces).' },
  'metrics-path': { type: 'string', default: '/metrics', describe: 'Prometheus metrics path.' },
  'health-port': { type: 'string', default: '20244', describe: 'Health check port serving /healthz (0: disabled).' },
  'health-addr': {
    type: 'string',
    default: '',
    describe: 'Health check address to listen on (default: all interfaces; the livenessProbe must use the same address).',
  },
  'enable-pprof': {
    type: 'boolean',
    default: false,
    describe:
      "Profiling on 0.0.0.0:6060, as kube-router's pprof: /debug/pprof/profile?seconds=N (a CPU profile) and /debug/pprof/heap?seconds=N (sampled allocations), in Chrome DevTools' formats.",
  },
} as const satisfies Record<string, Options>;
