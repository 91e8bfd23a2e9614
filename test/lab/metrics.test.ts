/**
 * Metrics and health on the lab (`lab up --nodes 3 --tor`, Prometheus on by default): each node
 * serves /metrics and /healthz in its namespace, and the lab's real Prometheus (Debian's
 * package) scrapes them; the values it stores are checked against what the cluster is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Lab } from '../../lab/cluster';
import { until } from '../../lab/wait';
import { HEALTH_PORT, METRICS_PORT } from '../../lab/layout';
import { labCli, labDown, labUp } from '../helpers/lab';
import { apiAccess } from '../../controllers/cluster-watch';
import { TEST_NETNS_PREFIX } from '../helpers/topology';
import { AGENT_NODE_ARGS } from '../../src/agent/process-env';

jest.setTimeout(180000);

const PREFIX = `${TEST_NETNS_PREFIX}met-`;
const DIR = '/run/kube-router-ts/test-metrics';
const cli = labCli;

describe('lab: metrics, Prometheus and health', () => {
  let lab: Lab;
  const byNode = async (query: string): Promise<Record<string, number>> =>
    Object.fromEntries(
      (await lab.promQuery(query)).map((s) => [s.metric.node ?? '', s.value]).sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  /** Waits until Prometheus answers `query` with `want` per node (it scrapes every 2 s). */
  const expectByNode = async (query: string, want: Record<string, number>, timeoutMs = 30000): Promise<void> => {
    let last: Record<string, number> = {};
    await until(
      async () => JSON.stringify((last = await byNode(query))) === JSON.stringify(want),
      timeoutMs,
      `Prometheus: ${query} = ${JSON.stringify(want)}`,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last answer ${JSON.stringify(last)}`);
    });
  };
  const fromApiNs = async (...args: string[]) => lab.netns(lab.state.api.netns).exec('curl', ['-s', ...args], { allowFail: true });

  beforeAll(async () => {
    ({ lab } = await labUp(DIR, PREFIX, [
      '--nodes',
      '3',
      '--tor',
      '--pods',
      '1',
      '--agent-args=--injected-routes-sync-period=2s',
      // Options of the agents' node itself (what bench/agent-footprint varies); a harmless one.
      '--agent-node-args=--stack-trace-limit=20',
    ]));
  });

  afterAll(() => labDown(DIR, PREFIX));

  it('every node serves the series on its metrics port, and lab status says where', async () => {
    const n1 = lab.state.nodes[0]!;
    const body = (await fromApiNs(`http://${n1.ip}:${METRICS_PORT}/metrics`)).stdout;
    expect(body).toContain('kube_router_bgp_peer_info{address="10.0.0.254",type="external",asn="64513",state="established"} 1');
    expect(body).toMatch(/^kube_router_bgp_peer_state\{peer="10\.0\.0\.12",type="internal"\} 5$/m);
    expect(body).toMatch(/^kube_router_host_routes_synced 2$/m);
    expect(body).toMatch(/^kube_router_kernel_routes\{protocol="44"\} 2$/m);
    expect(body).toMatch(/^kube_router_controller_bgp_advertisements_sent\{type="pod-route"\} 1$/m);
    expect(body).toMatch(/^kube_router_informer_lists_total\{resource="nodes"\} 1$/m);
    expect(body).toMatch(/^kube_router_controller_sync_duration_seconds_count\{controller="routes"\} [1-9]\d*$/m);
    expect(body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(body).toMatch(/^nodejs_eventloop_lag_seconds /m);
    const status = await cli('lab', 'status', `--dir=${DIR}`);
    expect(status.stdout).toContain(`Each node serves http://NODE_IP:${METRICS_PORT}/metrics and http://NODE_IP:${HEALTH_PORT}/healthz`);
    expect(status.stdout).toContain('Prometheus scrapes them all at http://10.0.0.250:9090');
    expect(status.stdout).toMatch(/^node1 +10\.0\.0\.11 +10\.244\.1\.0\/24 +up +\d+ MiB +ok /m);
  });

  it("--agent-node-args: every agent's node process gets them after the image's, before the program", () => {
    for (const n of lab.state.nodes) {
      const pid = fs.readFileSync(path.join(n.dir, 'agent.pid'), 'utf8').trim();
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 2 + AGENT_NODE_ARGS.length)).toEqual([...AGENT_NODE_ARGS, '--stack-trace-limit=20']);
      expect(argv[2 + AGENT_NODE_ARGS.length]).toMatch(/kube-router-ts\.js$/);
    }
  });

  it('Prometheus holds the right values: every target up, peers Established = nodes - 1, two routes of ours per node', async () => {
    const all = { node1: 1, node2: 1, node3: 1 };
    await expectByNode('up{job="kube-router-ts"}', all);
    await expectByNode('count by (node) (kube_router_bgp_peer_info{type="internal",state="established"})', {
      node1: 2,
      node2: 2,
      node3: 2,
    });
    await expectByNode('sum by (node) (kube_router_bgp_peer_state{type="external"})', { node1: 5, node2: 5, node3: 5 });
    await expectByNode('kube_router_host_routes_synced', { node1: 2, node2: 2, node3: 2 });
    await expectByNode('kube_router_kernel_routes{protocol="44"}', { node1: 2, node2: 2, node3: 2 });
    await expectByNode('sum by (node) (kube_router_bgp_peer_prefixes_advertised{type="internal"})', { node1: 2, node2: 2, node3: 2 });
    // Nodes, Services, EndpointSlices, Pods, and the firewall's NetworkPolicies and Namespaces.
    await expectByNode('count by (node) (kube_router_informer_synced == 1)', { node1: 6, node2: 6, node3: 6 });
    // The firewall runs (no policy here): its three top-level chains, no sets, a sync timed.
    await expectByNode('kube_router_controller_policy_chains', { node1: 3, node2: 3, node3: 3 });
    await expectByNode('kube_router_controller_policy_ipsets', { node1: 0, node2: 0, node3: 0 });
    await expectByNode('kube_router_controller_policy_chains_sync_time_count > bool 0', { node1: 1, node2: 1, node3: 1 });
    await expectByNode('kube_router_healthy', all);
    await expectByNode('sum by (node) (kube_router_host_route_install_errors_total)', { node1: 0, node2: 0, node3: 0 });
  });

  it('--injected-routes-sync-period: the routes loop checks the kernel that often with nothing changing (the lab syncs every 60 s otherwise)', async () => {
    const n1 = lab.state.nodes[0]!;
    const runs = async (): Promise<number> => {
      const body = (await fromApiNs(`http://${n1.ip}:${METRICS_PORT}/metrics`)).stdout;
      return Number(/^kube_router_controller_sync_duration_seconds_count\{controller="routes"\} (\d+)$/m.exec(body)?.[1] ?? NaN);
    };
    const before = await runs();
    await new Promise((r) => setTimeout(r, 7000));
    expect((await runs()) - before).toBeGreaterThanOrEqual(3);
  });

  it('the agents ask the API server for nothing the shipped ClusterRole does not grant (as its authorizer sees it)', async () => {
    const stats = await lab.api.lab<{ access: Record<string, number> }>('stats');
    const granted = new Set(apiAccess({ firewall: true }).flatMap((a) => a.verbs.map((v) => `${v} ${a.apiGroup}/${a.resource}`)));
    const asked = Object.keys(stats.access).sort();
    expect(asked.filter((k) => !granted.has(k))).toEqual([]);
    // And each grant is used: list then watch of every resource.
    expect(asked).toEqual([...granted].sort());
  });

  it('a deleted Node shows in the metrics and fails its own /healthz until it is back', async () => {
    const n3 = lab.state.nodes[2]!;
    const health = () => fromApiNs('-w', '\\n%{http_code}', `http://${n3.ip}:${HEALTH_PORT}/healthz`);
    expect((await health()).stdout).toBe('OK\n\n200');
    await lab.deleteNode(n3);
    try {
      await expectByNode('count by (node) (kube_router_bgp_peer_info{type="internal",state="established"})', { node1: 1, node2: 1 });
      await expectByNode('kube_router_healthy', { node1: 1, node2: 1, node3: 0 });
      expect((await health()).stdout).toBe(
        'Unhealthy\nnot part of the cluster: no Node object with this name (see --hostname-override)\n\n500',
      );
      // node3 has no route of ours left, so no series for protocol 44.
      await expectByNode('kube_router_kernel_routes{protocol="44"}', { node1: 1, node2: 1 });
    } finally {
      await lab.createNode(n3);
    }
    await expectByNode('count by (node) (kube_router_bgp_peer_info{type="internal",state="established"})', {
      node1: 2,
      node2: 2,
      node3: 2,
    });
    await expectByNode('kube_router_healthy', { node1: 1, node2: 1, node3: 1 });
    expect((await health()).stdout).toBe('OK\n\n200');
  });
});
