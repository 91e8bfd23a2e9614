/**
 * One agent in a cluster of N nodes (default 5,000), as route reflector clients see it: the
 * embedded API server (the lab's) holds N Nodes, each with a pod CIDR and an InternalIP; nodes 2
 * and 3 are route reflectors (kube-router.io/rr.server), every other node a client, the agent
 * under test (node 1) among them. Two simulated reflectors (bench/reflector-sim.ts), listening
 * before the agent starts, announce the N-1 other pod CIDRs, each with its node as next hop. Measured, in one run:
 * - agent start to all N-1 routes in its kernel table, and beside it `ip -batch` installing
 *   the same routes into an empty namespace (the ratio says what the agent adds);
 * - the agent's RSS afterwards (and its heap, from its metrics);
 * - a Node added (API object and its route from the reflectors at once) to its kernel route;
 * - the agent's CPU per periodic sync (--routes-sync-period=5s, over 60 s idle);
 * - the API server: RSS, CPU used while the agent listed and watched, and a LIST of all Nodes.
 *
 * --agent-node-args "..." starts the agent's `node` with those options (V8's, say) after the
 * image's (AGENT_NODE_ARGS; "--sparkplug" undoes its "--no-sparkplug", "--short-builtin-calls" its
 * "--no-short-builtin-calls").
 *
 *   node dist/bench/scale-nodes.js [--nodes 5000] [--host-env] [--agent-node-args "--sparkplug"]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Netns, Segment } from '../lab/netns';
import { LabApi } from '../lab/apiserver/client';
import { makeApiCredentials, renderKubeconfig } from '../lab/apiserver/tls';
import { AGENT_ENV, AGENT_NODE_ARGS } from '../src/agent/process-env';
import { podEnv, podEnvNote } from './pod-env';
import { agentProgram, labProgram } from '../lab/programs';
import { run } from '../src/util/exec';
import { option } from './args';

const N = Number(option('nodes') ?? 5000);
const PREFIX = 'krb-sc-';
const ASN = 64512;
const CLUSTER_ID = '42';
const API_IP = '10.1.255.250';
const SIM = path.resolve(__dirname, 'reflector-sim.js');
const SYNC_PERIOD_S = 5;
const IDLE_WINDOW_S = 60;
const METRICS_PORT = 20241;

/** Node i (0-based; 0 is the agent under test, 1 and 2 the reflectors). */
const nodeIp = (i: number): string => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const podCidr = (i: number): string => `10.${64 + Math.floor(i / 256)}.${i % 256}.0/24`;
const nodeName = (i: number): string => `node${i + 1}`;
const role = (i: number): string => (i === 1 || i === 2 ? 'server' : 'client');

function nodeObject(i: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: nodeName(i),
      labels: { 'kubernetes.io/hostname': nodeName(i), 'kubernetes.io/os': 'linux' },
      annotations: { [`kube-router.io/rr.${role(i)}`]: CLUSTER_ID },
    },
    spec: { podCIDR: podCidr(i), podCIDRs: [podCidr(i)] },
    status: {
      addresses: [
        { type: 'InternalIP', address: nodeIp(i) },
        { type: 'Hostname', address: nodeName(i) },
      ],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function procStat(pid: number): { rssMiB: number; cpuS: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
  // utime and stime: fields 14 and 15 of /proc/PID/stat, after the ")" that ends the command.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: rss, cpuS: ticks / 100 };
}

/** The pid of the process `ip netns exec` became (it execs, so it is the child's own pid). */
const pidOf = (c: ChildProcess): number => c.pid!;

async function kernelRoutes(ns: Netns): Promise<number> {
  const out = (await ns.exec('ip', ['-4', 'route', 'show', 'proto', '44'])).stdout;
  return out ? out.trimEnd().split('\n').length : 0;
}

async function until(what: string, timeoutMs: number, cond: () => Promise<boolean>, everyMs = 20): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Our metric's value from the agent's /metrics (sum or count of a histogram, or a gauge). */
async function metric(ns: Netns, name: string): Promise<number> {
  const text = (await ns.exec('curl', ['-s', `http://127.0.0.1:${METRICS_PORT}/metrics`])).stdout;
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<void> {
  process.stdout.write(podEnvNote());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krb-scale-'));
  const apiDir = path.join(dir, 'api');
  const seg = await Segment.create(`${PREFIX}sw`);
  const namespaces: Netns[] = [];
  const children: ChildProcess[] = [];
  try {
    // The API server with N Nodes.
    const creds = await makeApiCredentials(apiDir, [API_IP]);
    const apiNs = await Netns.create(`${PREFIX}api`);
    namespaces.push(apiNs);
    await seg.join(apiNs, 'eth0', [`${API_IP}/16`]);
    const apiProc = apiNs.spawn(process.execPath, [labProgram(), 'apiserver', `--dir=${apiDir}`, `--listen=${API_IP}:6443`], {
      logFile: path.join(apiDir, 'apiserver.log'),
    });
    children.push(apiProc);
    const api = new LabApi(path.join(apiDir, 'api.sock'));
    await until(
      'the API server',
      30000,
      () =>
        api.lab('stats').then(
          (s) => s.up === true,
          () => false,
        ),
      100,
    );
    for (const ns of ['default', 'kube-system'])
      await api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    let t = Date.now();
    for (let i = 0; i < N; i++) await api.create('/api/v1/nodes', nodeObject(i));
    const createS = (Date.now() - t) / 1000;
    t = Date.now();
    const list = await api.get<{ items: unknown[] }>('/api/v1/nodes');
    const listMs = Date.now() - t;
    const listBytes = Buffer.byteLength(JSON.stringify(list));
    const apiBefore = procStat(pidOf(apiProc));

    // The reflectors' routes: every pod CIDR but the agent's.
    const routesFile = path.join(dir, 'routes.txt');
    fs.writeFileSync(routesFile, Array.from({ length: N - 1 }, (_, k) => `${podCidr(k + 1)} ${nodeIp(k + 1)}`).join('\n') + '\n');

    // ip -batch, side by side: the same routes into an empty namespace on the same subnet.
    const batchNs = await Netns.create(`${PREFIX}batch`);
    namespaces.push(batchNs);
    await seg.join(batchNs, 'eth0', [`${nodeIp(0)}/16`]);
    const batchFile = path.join(dir, 'batch.txt');
    fs.writeFileSync(
      batchFile,
      Array.from({ length: N - 1 }, (_, k) => `route add ${podCidr(k + 1)} via ${nodeIp(k + 1)} proto 44`).join('\n') + '\n',
    );
    t = Date.now();
    await batchNs.exec('ip', ['-batch', batchFile]);
    const batchMs = Date.now() - t;
    await batchNs.destroy();
    namespaces.pop();

    // The reflectors, in one namespace with both addresses, listening before the agent starts
    // (as running reflectors are); the agent dials them.
    const rrNs = await Netns.create(`${PREFIX}rr`);
    namespaces.push(rrNs);
    await seg.join(rrNs, 'eth0', [`${nodeIp(1)}/16`, `${nodeIp(2)}/16`]);
    const sims: ChildProcess[] = [];
    for (const rr of [1, 2]) {
      const sim = rrNs.spawn(
        process.execPath,
        [SIM, '--local', nodeIp(rr), '--asn', String(ASN), '--cluster-id', `0.0.0.${CLUSTER_ID}`, '--routes', routesFile],
        { stdio: ['pipe', 'ignore', 'inherit'] },
      );
      sims.push(sim);
      children.push(sim);
    }
    await until(
      'the reflectors listening',
      30000,
      async () => ((await rrNs.exec('ss', ['-Htln'])).stdout.match(/:179\b/g) ?? []).length === 2,
      20,
    );

    // The agent under test.
    const agentNs = await Netns.create(`${PREFIX}node1`);
    namespaces.push(agentNs);
    await seg.join(agentNs, 'eth0', [`${nodeIp(0)}/16`]);
    await agentNs.ip('link', 'set', 'lo', 'up');
    const token = fs.readFileSync(creds.tokenFile, 'utf8').trim();
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, renderKubeconfig(`https://${API_IP}:6443`, creds.caCert, token, 'kube-router'), { mode: 0o600 });
    const t0 = Date.now();
    // BENCH_PROFILE=DIR writes a CPU profile of the agent there (open it in Chrome DevTools).
    const prof = [...AGENT_NODE_ARGS, ...(option('agent-node-args') ?? '').split(/\s+/).filter(Boolean)];
    if (process.env.BENCH_PROFILE) prof.push('--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`);
    // BENCH_HEAP=DIR: a heap snapshot of the agent after sync, written there.
    if (process.env.BENCH_HEAP) prof.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${process.env.BENCH_HEAP}`);
    const agent = agentNs.spawn(
      process.execPath,
      [
        ...prof,
        agentProgram(),
        `--kubeconfig=${kubeconfig}`,
        `--hostname-override=${nodeName(0)}`,
        `--admin-socket=${path.join(dir, 'admin.sock')}`,
        `--state-file=${path.join(dir, 'state.json')}`,
        `--cni-conf-path=${path.join(dir, 'cni', '10-kuberouter.conflist')}`,
        `--routes-sync-period=${SYNC_PERIOD_S}s`,
        '--enable-overlay=false',
        `--metrics-port=${METRICS_PORT}`,
        `--log-level=${process.env.BENCH_LOG_LEVEL ?? 'warn'}`,
      ],
      { logFile: path.join(dir, 'agent.log'), env: { ...podEnv(), ...AGENT_ENV } },
    );
    children.push(agent);
    // Listening means the agent read its Node (it starts BGP then).
    await until('the agent listening on 179', 60000, async () => /:179\b/.test((await agentNs.exec('ss', ['-Htln'])).stdout), 20);
    const listeningMs = Date.now() - t0;
    await until(`${N - 1} routes in the agent's kernel table`, 120000, async () => (await kernelRoutes(agentNs)) >= N - 1, 50);
    const syncMs = Date.now() - t0;
    await sleep(3000);
    const agentAfter = procStat(pidOf(agent));
    if (process.env.BENCH_HEAP) {
      agent.kill('SIGUSR2');
      await sleep(15000);
    }
    const heapMiB = (await metric(agentNs, 'nodejs_heap_size_used_bytes')) / 2 ** 20;
    const apiAfter = procStat(pidOf(apiProc));

    // One Node added: its object and its route at once.
    const added = N;
    t = Date.now();
    await api.create('/api/v1/nodes', nodeObject(added));
    for (const sim of sims) sim.stdin!.write(`announce ${podCidr(added)} ${nodeIp(added)}\n`);
    await until(
      "the new Node's route",
      30000,
      async () => (await agentNs.exec('ip', ['-4', 'route', 'show', podCidr(added)])).stdout.includes('via'),
      10,
    );
    const changeMs = Date.now() - t;

    // Idle: CPU per periodic sync.
    const idle0 = procStat(pidOf(agent));
    const syncs0 = await metric(agentNs, 'kube_router_host_routes_sync_time_count');
    const syncSum0 = await metric(agentNs, 'kube_router_host_routes_sync_time_sum');
    await sleep(IDLE_WINDOW_S * 1000);
    const idle1 = procStat(pidOf(agent));
    const syncs = (await metric(agentNs, 'kube_router_host_routes_sync_time_count')) - syncs0;
    const syncSum = (await metric(agentNs, 'kube_router_host_routes_sync_time_sum')) - syncSum0;
    const idleCpu = idle1.cpuS - idle0.cpuS;
    const apiEnd = procStat(pidOf(apiProc));

    const rows: [string, string, string][] = [
      ['Nodes in the API server', String(N + 1), ''],
      ['agent start -> listening (Node read)', `${(listeningMs / 1000).toFixed(2)} s`, ''],
      [`agent start -> ${N - 1} routes in its kernel table`, `${(syncMs / 1000).toFixed(2)} s`, '<= 3 s'],
      [
        `ip -batch, the same ${N - 1} routes (same run)`,
        `${(batchMs / 1000).toFixed(2)} s`,
        `agent / ip -batch: ${(syncMs / batchMs).toFixed(1)}x (the agent's time includes start and BGP)`,
      ],
      ['agent RSS after sync', `${agentAfter.rssMiB.toFixed(0)} MiB`, '<= 150 MiB'],
      ['agent JS heap used after sync', `${heapMiB.toFixed(0)} MiB`, ''],
      ['agent CPU to reach sync', `${agentAfter.cpuS.toFixed(2)} s`, ''],
      ['one Node added -> its route installed', `${changeMs} ms`, '<= 1 s'],
      [
        `agent CPU idle (${IDLE_WINDOW_S} s, routes sync every ${SYNC_PERIOD_S} s)`,
        `${((idleCpu / IDLE_WINDOW_S) * 100).toFixed(1)} % of a core`,
        '',
      ],
      ['routes sync runs in the window / mean sync time', `${syncs} / ${syncs ? ((syncSum / syncs) * 1000).toFixed(0) : '-'} ms`, ''],
      ['agent idle CPU per routes sync (includes the self-heal checks)', syncs ? `${((idleCpu / syncs) * 1000).toFixed(0)} ms` : '-', ''],
      ['API server: create N Nodes (one POST each)', `${createS.toFixed(1)} s`, ''],
      ['API server: LIST of all Nodes', `${listMs} ms, ${(listBytes / 2 ** 20).toFixed(1)} MiB`, ''],
      ['API server: CPU while the agent listed and watched', `${(apiAfter.cpuS - apiBefore.cpuS).toFixed(2)} s`, ''],
      [
        'API server: CPU idle with the agent watching',
        `${(((apiEnd.cpuS - apiAfter.cpuS) / IDLE_WINDOW_S) * 100).toFixed(1)} % of a core`,
        '',
      ],
      ['API server RSS', `${apiEnd.rssMiB.toFixed(0)} MiB`, ''],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    process.stdout.write(`\n${N} nodes, one agent (node1, a reflector client) learning ${N - 1} pod CIDRs from 2 simulated reflectors\n\n`);
    for (const [k, v, goal] of rows) process.stdout.write(`${k.padEnd(w)}  ${v.padEnd(18)} ${goal}\n`);
  } finally {
    // SIGTERM first: the agent writes its CPU profile (BENCH_PROFILE) on a clean exit.
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await sleep(1500);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const ns of namespaces.reverse()) await ns.destroy().catch(() => undefined);
    await seg.destroy().catch(() => undefined);
    await run('ip', ['netns', 'list']).catch(() => undefined);
    // BENCH_KEEP=1 keeps the logs (agent.log, api/apiserver.log) for a look afterwards.
    if (process.env.BENCH_KEEP) process.stdout.write(`logs kept in ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
