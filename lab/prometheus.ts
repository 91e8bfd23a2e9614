/**
 * The lab's Prometheus (Debian's prometheus package): runs in the API server's namespace and
 * scrapes every node's agent at METRICS_PORT every 2 s, each target labelled with its node
 * name. Queried through its HTTP API from inside that namespace.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Netns } from './netns';
import type { LabState } from './layout';
import { API_IP, METRICS_PORT, PROMETHEUS_PORT } from './layout';
import { until } from './wait';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export function prometheusConfig(state: LabState): string {
  const targets = state.nodes.map((n) => `      - targets: ['${n.ip}:${METRICS_PORT}']\n        labels: { node: '${n.name}' }`).join('\n');
  return `global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 2s
scrape_configs:
  - job_name: kube-router-ts
    metrics_path: /metrics
    static_configs:
${targets}
`;
}

/** Starts Prometheus in `ns` (the API namespace) and waits until it is ready. */
export async function startPrometheus(ns: Netns, state: LabState): Promise<{ url: string; dir: string }> {
  if (!fs.existsSync(PROMETHEUS_BIN))
    throw new Error(`${PROMETHEUS_BIN} is missing: apt install prometheus, or run the lab with --prometheus=false`);
  const dir = path.join(state.dir, 'prometheus');
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), prometheusConfig(state));
  const listen = `${API_IP}:${PROMETHEUS_PORT}`;
  ns.spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=${listen}`,
      '--storage.tsdb.retention.time=1d',
    ],
    {
      logFile: path.join(dir, 'prometheus.log'),
    },
  ).unref();
  const url = `http://${listen}`;
  await until(
    async () => (await ns.exec('curl', ['-sf', `${url}/-/ready`], { allowFail: true })).code === 0,
    60000,
    `Prometheus to be ready (log: ${dir}/prometheus.log)`,
  );
  return { url, dir };
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** An instant query; throws with Prometheus's own error text when it refuses the query. */
export async function promQuery(ns: Netns, url: string, query: string): Promise<PromSample[]> {
  const r = await ns.exec('curl', ['-s', '--data-urlencode', `query=${query}`, `${url}/api/v1/query`], { allowFail: true });
  if (r.code !== 0) throw new Error(`Prometheus at ${url} did not answer (curl exit ${r.code})`);
  const body = JSON.parse(r.stdout) as {
    status: string;
    error?: string;
    data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${JSON.stringify(query)}: ${body.error ?? r.stdout}`);
  return body.data!.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
}
