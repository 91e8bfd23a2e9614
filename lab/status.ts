/**
 * `lab status`: what each agent reports (sessions, kernel routes), what the ToR's BIRD holds,
 * the pods, and a ping from every pod to every other pod. `ok` is false when any agent cannot
 * be reached or any pod pair cannot ping.
 */
import { ipFamily } from '../net';
import { AgentStatusView, Lab } from './cluster';
import type { LabPod } from './layout';
import { parseBirdRoutes } from './peers/bird';
import { duration, table } from '../bgp/admin/format';
import { HEALTH_PORT, METRICS_PORT } from './layout';

export interface LabNodeStatus {
  name: string;
  ip: string;
  podCidr: string;
  ip6?: string;
  podCidr6?: string;
  agent: 'up' | 'unreachable';
  error?: string;
  sessions: { peer: string; asn: number; state: string; uptime: number; description?: string }[];
  routes: { dst: string; gateway?: string; dev?: string; table?: number }[];
  tunnels: { name: string; remote?: string; encap?: string; mtu?: number; up: boolean }[];
  subnet: number;
  /** Route reflection role (lab up --route-reflectors): reflector, client, or mesh (none). */
  role: 'reflector' | 'client' | 'mesh';
  advertisedVips: string[];
  /** What the agent's /healthz says (problems empty when healthy). */
  health?: { healthy: boolean; problems: string[] };
  /** The pods the agent sees on its node (its Pods informer). */
  localPods: AgentStatusView['localPods'];
  /** The agent's resident memory, bytes, as it reports it. */
  rss?: number;
}

export interface PingResult {
  from: string;
  to: string;
  toIp: string;
  family: 4 | 6;
  ok: boolean;
}

export interface LabStatus {
  nodes: LabNodeStatus[];
  tor?: { sessions: { name: string; state: string }[]; routes: { prefix: string; nextHops: string[] }[] };
  pods: LabPod[];
  pings: PingResult[];
  ok: boolean;
}

/** One ping, retried once: the first packet of a pair may wait on ARP. */
export async function podPing(lab: Lab, from: LabPod, toIp: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = await lab.inPod(from, 'ping', [ipFamily(toIp) === 6 ? '-6' : '-4', '-c', '1', '-W', '2', '-q', toIp]);
    if (r.code === 0) return true;
  }
  return false;
}

/** Every pod pings every other pod, over IPv4 and, in a dual-stack lab, over IPv6. */
export async function pingMatrix(lab: Lab): Promise<PingResult[]> {
  const pods = lab.state.pods.filter((p) => p.ip);
  const probes = pods.flatMap((a) =>
    pods.filter((b) => b !== a).flatMap((b) => [[a, b, b.ip!, 4] as const, ...(b.ip6 && a.ip6 ? [[a, b, b.ip6, 6] as const] : [])]),
  );
  return Promise.all(
    probes.map(async ([a, b, ip, family]) => ({ from: a.name, to: b.name, toIp: ip, family, ok: await podPing(lab, a, ip) })),
  );
}

/** Pod pairs (from, to) of which some probe failed. */
export function failedPairs(pings: readonly PingResult[]): Set<string> {
  return new Set(pings.filter((p) => !p.ok).map((p) => `${p.from} ${p.to}`));
}

/** The ToR's BGP routes: prefix and the next hops of its paths. */
export async function torRoutes(lab: Lab, family: 4 | 6 = 4): Promise<{ prefix: string; nextHops: string[] }[]> {
  const routes = parseBirdRoutes(await lab.birdc('show', 'route', 'all', 'table', family === 4 ? 'master4' : 'master6'));
  const by = new Map<string, string[]>();
  for (const r of routes) by.set(r.prefix, [...(by.get(r.prefix) ?? []), r.nextHop]);
  return [...by].map(([prefix, nextHops]) => ({ prefix, nextHops: nextHops.sort() })).sort((a, b) => a.prefix.localeCompare(b.prefix));
}

async function nodeStatus(lab: Lab, n: Lab['state']['nodes'][number]): Promise<LabNodeStatus> {
  const s: LabNodeStatus = {
    name: n.name,
    ip: n.ip,
    podCidr: n.podCidr,
    ...(n.ip6 ? { ip6: n.ip6, podCidr6: n.podCidr6! } : {}),
    agent: 'up',
    sessions: [],
    routes: [],
    tunnels: [],
    subnet: n.subnet,
    role: n.rr === 'server' ? 'reflector' : n.rr === 'client' ? 'client' : 'mesh',
    advertisedVips: [],
    localPods: [],
  };
  let st: AgentStatusView;
  try {
    st = await lab.agentStatus(n);
  } catch (e) {
    s.agent = 'unreachable';
    s.error = (e as Error).message;
    return s;
  }
  s.routes = st.kernelRoutes;
  s.tunnels = st.tunnels ?? [];
  s.advertisedVips = st.advertisedVips.map((v) => v.prefix);
  s.localPods = st.localPods;
  if (st.health) s.health = st.health;
  if (st.memory) s.rss = st.memory.rss;
  if (!st.ready) {
    s.error = 'the agent is up but not peering: no Node object for it (deleted?) or no address on it';
    return s;
  }
  const nb = await lab.neighbors(n).catch(() => []);
  s.sessions = nb.map((x) => ({
    peer: x.address,
    asn: x.asn,
    state: x.state,
    uptime: x.uptime,
    ...(x.description ? { description: x.description } : {}),
  }));
  return s;
}

export async function labStatus(lab: Lab): Promise<LabStatus> {
  const [nodes, pings] = await Promise.all([Promise.all(lab.state.nodes.map((n) => nodeStatus(lab, n))), pingMatrix(lab)]);
  const status: LabStatus = { nodes, pods: lab.state.pods, pings, ok: nodes.every((n) => n.agent === 'up') && pings.every((p) => p.ok) };
  if (lab.state.tor?.bgp) {
    const protocols = await lab.birdc('show', 'protocols');
    const sessions = protocols
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1] === 'BGP')
      .map((f) => ({ name: f[0]!, state: f[5] ?? f[3] ?? '?' }));
    status.tor = { sessions, routes: [...(await torRoutes(lab, 4)), ...(lab.state.ipv6 ? await torRoutes(lab, 6) : [])] };
  }
  return status;
}

export function formatLabStatus(s: LabStatus, lab: Lab): string {
  const lines: string[] = [];
  lines.push('NODES');
  // Route reflection roles, in a lab that has them (lab up --route-reflectors).
  const roles = s.nodes.some((n) => n.role !== 'mesh');
  lines.push(
    table([
      ['NAME', ...(roles ? ['ROLE'] : []), 'IP', 'POD CIDR', 'AGENT', 'RSS', 'HEALTH', 'SESSIONS', 'ROUTES', 'TUNNELS'],
      ...s.nodes.map((n) => [
        n.name,
        ...(roles ? [n.role] : []),
        [n.ip, n.ip6].filter(Boolean).join(' '),
        [n.podCidr, n.podCidr6].filter(Boolean).join(' '),
        n.agent,
        n.rss === undefined ? '-' : `${(n.rss / 2 ** 20).toFixed(0)} MiB`,
        n.health ? (n.health.healthy ? 'ok' : 'FAILING') : '-',
        `${n.sessions.filter((x) => x.state === 'Established').length}/${n.sessions.length} up`,
        String(n.routes.length),
        String(n.tunnels.length),
      ]),
    ]),
  );
  const n1 = lab.state.nodes[0];
  if (n1) {
    lines.push(
      `Each node serves http://NODE_IP:${METRICS_PORT}/metrics and http://NODE_IP:${HEALTH_PORT}/healthz` +
        ` in its namespace (ip netns exec ${lab.state.api.netns} curl http://${n1.ip}:${METRICS_PORT}/metrics)` +
        (lab.state.prometheus
          ? `; Prometheus scrapes them all at ${lab.state.prometheus.url} (ip netns exec ${lab.state.api.netns} curl '${lab.state.prometheus.url}/api/v1/query?query=kube_router_bgp_peer_info')`
          : ''),
    );
  }
  for (const n of s.nodes) {
    lines.push('', `${n.name}: BGP sessions`);
    if (n.health && !n.health.healthy) lines.push(`  /healthz fails: ${n.health.problems.join('; ')}`);
    if (n.error) {
      lines.push(`  ${n.agent === 'up' ? '' : 'agent unreachable: '}${n.error}`);
      continue;
    }
    lines.push(
      indent(
        table([
          ['PEER', 'AS', 'STATE', 'UP/DOWN', 'WHO'],
          ...n.sessions.map((x) => [x.peer, String(x.asn), x.state, duration(x.uptime), x.description ?? '']),
        ]),
      ),
    );
    lines.push(`${n.name}: kernel routes (ip route show table all proto 44)`);
    const route = (r: LabNodeStatus['routes'][number]): string =>
      `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.table ? ` table ${r.table}` : ''}`;
    lines.push(indent(n.routes.length ? n.routes.map(route).join('\n') : '(none)'));
    if (n.tunnels.length)
      lines.push(
        `${n.name}: tunnels: ${n.tunnels.map((t) => `${t.name} (to ${t.remote ?? '?'}, ${t.encap ?? '?'}, mtu ${t.mtu ?? '?'}${t.up ? '' : ', down'})`).join(', ')}`,
      );
    if (n.advertisedVips.length) lines.push(`${n.name}: service IPs advertised: ${n.advertisedVips.join(', ')}`);
  }
  if (s.tor) {
    lines.push('', `TOR (BIRD, AS ${lab.state.tor!.asn})`);
    lines.push(indent(table([['PROTOCOL', 'STATE'], ...s.tor.sessions.map((x) => [x.name, x.state])])));
    lines.push(
      indent(
        s.tor.routes.length
          ? table([['PREFIX', 'NEXT HOPS'], ...s.tor.routes.map((r) => [r.prefix, r.nextHops.join(' ')])])
          : '(no routes)',
      ),
    );
  }
  lines.push('', 'PODS');
  const seen = (p: LabPod): string => {
    const v = s.nodes.find((n) => n.name === p.node)?.localPods.find((x) => x.name === p.name && x.namespace === p.namespace);
    return v ? `${v.phase}${v.ready ? ', ready' : ''}` : 'not seen';
  };
  lines.push(
    table([
      ['NAME', 'NODE', 'IP', 'AS THE AGENT SEES IT'],
      ...s.pods.map((p) => [p.name, p.node, [p.ip, p.ip6].filter(Boolean).join(' ') || '-', seen(p)]),
    ]),
  );
  lines.push('', `PING (row pings column${lab.state.ipv6 ? ', IPv4 and IPv6' : ''})`);
  const names = s.pods.filter((p) => p.ip).map((p) => p.name);
  const failed = failedPairs(s.pings);
  const pairs = names.length * (names.length - 1);
  const cell = (a: string, b: string): string => (a === b ? '-' : failed.has(`${a} ${b}`) ? 'FAIL' : 'ok');
  lines.push(table([['', ...names], ...names.map((a) => [a, ...names.map((b) => cell(a, b))])]));
  lines.push(
    '',
    s.ok
      ? `OK: ${pairs} of ${pairs} pod pairs reach each other`
      : `NOT OK: ${failed.size} of ${pairs} pod pairs fail${s.nodes.some((n) => n.agent !== 'up') ? '; some agents are unreachable' : ''} (logs: ${lab.state.dir}/*/agent.log)`,
  );
  return lines.join('\n');
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
