/**
 * Route load, side by side: a blaster (bench/blaster.ts) sends N IPv4 /32 routes (eBGP) to a receiver, which passes
 * them on to a second BIRD (eBGP). The receivers are kube-router-ts's speaker, BIRD, FRR's bgpd
 * and GoBGP, each in its own namespaces, one after the other in one run, and "Node floor"
 * (bench/node-floor.ts): not a speaker, the least this load needs in Node, as a yardstick.
 * Measured: from the sender's session Established to all N in the receiver's RIB, to all N at the second peer, and
 * the receiver's RSS 0.5 s afterwards and once it has been idle --settle seconds (V8 gives the
 * burst's garbage back some seconds after it, by itself). Prints a table and the ratios against kube-router-ts.
 *
 * Beside the times, the CPU the receiver used in that window, all its threads together (a
 * runtime's collector and compiler threads work beside its main thread, on the same two cores),
 * and the minor page faults it took (memory touched for the first time).
 *
 * With --rounds N every receiver is measured N times, the receivers taking turns (this machine's
 * speed drifts within minutes: BIRD's packed load took 0.06-0.15 s in one hour), and each cell
 * is the median with the range beside it; the ratios are of the medians.
 *
 * --speaker-node-args "..." starts our speaker's `node` with those options (V8's, say) after the
 * image's (AGENT_NODE_ARGS; "--sparkplug" undoes its "--no-sparkplug", "--short-builtin-calls" its
 * "--no-short-builtin-calls"), for measuring what they change. --speaker-warm-up N sets the
 * speaker's warmUpRoutes (its synthetic table before it listens; 0: none). What starting costs each
 * receiver is beside the rest: from its start until the second peer's session is up, and the
 * CPU it used by then (our speaker's warm-up is in both).
 *
 *   node dist/bench/rib-load.js [--routes 100000] [--unique-med] [--only ours,bird] [--settle 30] [--rounds 1] [--host-env]
 *                               [--speaker-node-args "--max-opt=1"] [--speaker-warm-up 20000]
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Netns, Segment } from '../lab/netns';
import { Bird } from '../lab/peers/bird';
import { run } from '../src/util/exec';
import { AGENT_ENV, AGENT_NODE_ARGS } from '../src/agent/process-env';
import { podEnv, podEnvNote } from './pod-env';
import { adminRequest } from '../bgp/admin/client';
import type { GlobalView } from '../bgp/admin/views';
import { flag, option } from './args';

const ROUTES = Number(option('routes') ?? 100000);
const UNIQUE_MED = flag('unique-med');
const ONLY = option('only')?.split(',');
const SETTLE_S = Number(option('settle') ?? 30);
const ROUNDS = Math.max(1, Number(option('rounds') ?? 1));
const WARM_UP = option('speaker-warm-up');
const CLI = path.resolve(__dirname, '../src/cli/main.js');
const BLASTER = path.resolve(__dirname, 'blaster.js');
const FLOOR = path.resolve(__dirname, 'node-floor.js');
const BGPD = '/usr/lib/frr/bgpd';

const SENDER = { address: '10.0.0.1', asn: 65001 };
const RECEIVER = { address: '10.0.0.2', asn: 65000 };
const SINK = { address: '10.0.0.3', asn: 65002 };

interface Receiver {
  name: string;
  start(ns: Netns, dir: string): Promise<{ count(): Promise<number>; pid(): number; stop(): void }>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function poll<T>(f: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, what: string, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * CPU time a process has used so far, all its threads (each thread's run time from
 * /proc/PID/task/TID/schedstat, in nanoseconds: the 10-ms ticks of /proc/PID/stat are too coarse
 * for a load BIRD takes in in 50 ms). A thread that exits in between takes its share with it.
 */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread exited while we looked.
    }
  }
  return ns / 1e6;
}

/**
 * Minor page faults a process has taken so far (field 10 of /proc/PID/stat): memory it touched
 * for the first time. On this machine each costs about 10 µs (docs/benchmarks.md), so a
 * receiver that grows its memory during the load pays for it in time.
 */
function minorFaults(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: state is field 3, minflt field 10.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Routes a BIRD imported over one protocol, from its channel counters. (`show route count` lags
 * for seconds after a burst, which measured BIRD's counter, not its routing.)
 */
const birdImported = async (b: Bird, protocol: string): Promise<number> => {
  const m = /Routes:\s+(\d+) imported/.exec(await b.birdc('show', 'protocols', 'all', protocol));
  return m ? Number(m[1]) : 0;
};

const receivers: Receiver[] = [
  {
    name: 'kube-router-ts',
    async start(ns, dir) {
      const socket = path.join(dir, 'admin.sock');
      const file = path.join(dir, 'speaker.json');
      fs.writeFileSync(
        file,
        JSON.stringify({
          routerId: RECEIVER.address,
          asn: RECEIVER.asn,
          listen: { address: RECEIVER.address, port: 179 },
          adminSocket: socket,
          connectRetry: 1,
          neighbors: [
            { address: SENDER.address, asn: SENDER.asn, passive: true },
            { address: SINK.address, asn: SINK.asn },
          ],
          ...(WARM_UP === undefined ? {} : { warmUpRoutes: Number(WARM_UP) }),
        }),
      );
      // BENCH_PROFILE=DIR writes a CPU profile of the speaker there (open it in Chrome DevTools).
      const prof = (option('speaker-node-args') ?? '').split(/\s+/).filter(Boolean);
      if (process.env.BENCH_PROFILE) prof.push('--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`);
      // BENCH_HEAP=DIR: a heap snapshot of the speaker once the routes are in, written there.
      if (process.env.BENCH_HEAP) prof.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${process.env.BENCH_HEAP}`);
      const child: ChildProcess = ns.spawn(
        process.execPath,
        [...AGENT_NODE_ARGS, ...prof, CLI, 'speaker', '--config', file, '--log-level', 'warn'],
        {
          logFile: path.join(dir, 'speaker.log'),
          env: { ...podEnv(), ...AGENT_ENV },
        },
      );
      await poll(
        () => adminRequest<GlobalView>(socket, 'GET', '/global'),
        () => true,
        10000,
        'speaker admin socket',
      );
      return {
        count: async () => (await adminRequest<GlobalView>(socket, 'GET', '/global')).prefixes.locRib['ipv4-unicast'] ?? 0,
        pid: () => child.pid!,
        stop: () => child.kill('SIGTERM'),
      };
    },
  },
  {
    // Not a speaker: the least this load needs in this runtime (bench/node-floor.ts), a yardstick.
    name: 'Node floor',
    async start(ns, dir) {
      const socket = path.join(dir, 'count.sock');
      const args = ['--local', RECEIVER.address, '--asn', String(RECEIVER.asn), '--sink', SINK.address, '--count-socket', socket];
      const child = ns.spawn(process.execPath, [...AGENT_NODE_ARGS, FLOOR, ...args], {
        logFile: path.join(dir, 'floor.log'),
        env: { ...podEnv(), ...AGENT_ENV },
      });
      const count = () =>
        new Promise<number>((resolve, reject) => {
          let text = '';
          net
            .connect(socket)
            .on('data', (c: Buffer) => (text += c.toString()))
            .on('end', () => resolve(Number(text)))
            .on('error', reject);
        });
      await poll(count, () => true, 10000, 'Node floor count socket');
      return { count, pid: () => child.pid!, stop: () => child.kill('SIGTERM') };
    },
  },
  {
    name: 'BIRD',
    async start(ns, dir) {
      const b = await Bird.start(ns, dir, {
        routerId: RECEIVER.address,
        asn: RECEIVER.asn,
        localAddress: RECEIVER.address,
        routes: [],
        protocols: [
          { name: 'sender', neighbor: SENDER.address, asn: SENDER.asn, passive: true },
          { name: 'sink', neighbor: SINK.address, asn: SINK.asn },
        ],
      });
      return { count: () => birdImported(b, 'sender'), pid: () => b.pid, stop: () => b.stop() };
    },
  },
  {
    name: 'FRR',
    async start(ns, dir) {
      const conf = path.join(dir, 'bgpd.conf');
      fs.writeFileSync(
        conf,
        `frr defaults traditional
router bgp ${RECEIVER.asn}
 bgp router-id ${RECEIVER.address}
 no bgp ebgp-requires-policy
 neighbor ${SENDER.address} remote-as ${SENDER.asn}
 neighbor ${SENDER.address} passive
 neighbor ${SINK.address} remote-as ${SINK.asn}
 neighbor ${SINK.address} timers connect 1
`,
      );
      const vty = path.join(dir, 'vty');
      fs.mkdirSync(vty);
      const child = ns.spawn(
        BGPD,
        ['-Z', '-S', '-P', '0', '-l', RECEIVER.address, '-f', conf, '-i', path.join(dir, 'bgpd.pid'), '--vty_socket', vty],
        { logFile: path.join(dir, 'bgpd.out') },
      );
      const vtysh = (c: string) => run('vtysh', ['--vty_socket', vty, '-d', 'bgpd', '-c', c]).then((r) => r.stdout);
      await poll(
        () => vtysh('show bgp summary'),
        () => true,
        10000,
        'FRR vty',
      );
      return {
        count: async () =>
          (JSON.parse(await vtysh('show bgp ipv4 unicast summary json')) as { peers: Record<string, { pfxRcd?: number }> }).peers[
            SENDER.address
          ]?.pfxRcd ?? 0,
        pid: () => child.pid!,
        stop: () => child.kill('SIGTERM'),
      };
    },
  },
  {
    name: 'GoBGP',
    async start(ns, dir) {
      const conf = path.join(dir, 'gobgpd.toml');
      const target = `unix://${path.join(dir, 'gobgp.sock')}`;
      const neighbor = (n: { address: string; asn: number }, passive: boolean) => `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.address}"
    peer-as = ${n.asn}
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.transport.config]
    passive-mode = ${passive}
`;
      fs.writeFileSync(
        conf,
        `[global.config]\n  as = ${RECEIVER.asn}\n  router-id = "${RECEIVER.address}"\n  local-address-list = ["${RECEIVER.address}"]\n${neighbor(SENDER, true)}${neighbor(SINK, false)}`,
      );
      const child = ns.spawn('gobgpd', ['-f', conf, '-p', '--pprof-disable', '--api-hosts', target, '-l', 'warn'], {
        logFile: path.join(dir, 'gobgpd.log'),
      });
      const cli = (...a: string[]) => run('gobgp', ['--target', target, ...a]).then((r) => r.stdout);
      await poll(
        () => cli('global'),
        () => true,
        10000,
        'gobgpd API',
      );
      return {
        count: async () => {
          const n = JSON.parse(await cli('-j', 'neighbor', SENDER.address)) as { afi_safis?: { state?: { accepted?: number } }[] };
          return n.afi_safis?.reduce((a, f) => a + (f.state?.accepted ?? 0), 0) ?? 0;
        },
        pid: () => child.pid!,
        stop: () => child.kill('SIGTERM'),
      };
    },
  },
];

interface Result {
  name: string;
  /** From starting the receiver until its session to the second peer was up. */
  startupMs: number;
  /** The receiver's CPU (all threads) from its start until then. */
  startupCpuMs: number;
  /** TCP connected to Established (OPEN and KEEPALIVE exchanged), as the sender saw it. */
  setupMs: number;
  toRib: number;
  toSecondPeer: number;
  /** CPU the receiver used (all threads) from Established until the second peer had all routes. */
  cpuMs: number;
  /** Minor page faults of the receiver in that window. */
  faults: number;
  rss: number;
  /** RSS once the receiver has been idle SETTLE_S (a garbage-collected runtime gives memory back then). */
  settledRss: number;
}

async function measure(r: Receiver, tag: string): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `krtb-${tag}-`));
  const ns: Netns[] = [];
  let seg: Segment | undefined;
  let recv: Awaited<ReturnType<Receiver['start']>> | undefined;
  const birds: Bird[] = [];
  const senders: ChildProcess[] = [];
  try {
    seg = await Segment.create(`krtb-${tag}-sw`);
    const mk = async (role: string, addr: string): Promise<Netns> => {
      const n = await Netns.create(`krtb-${tag}-${role}`);
      ns.push(n);
      await seg!.join(n, 'eth0', [`${addr}/24`]);
      fs.mkdirSync(path.join(dir, role));
      return n;
    };
    const nsRecv = await mk('recv', RECEIVER.address);
    const nsSink = await mk('sink', SINK.address);
    const nsSend = await mk('send', SENDER.address);
    const dump = process.env.BENCH_PCAP ? nsRecv.spawn('tcpdump', ['-i', 'eth0', '-w', process.env.BENCH_PCAP, 'tcp port 179']) : undefined;
    if (dump) senders.push(dump);

    const sink = await Bird.start(nsSink, path.join(dir, 'sink'), {
      routerId: SINK.address,
      asn: SINK.asn,
      localAddress: SINK.address,
      routes: [],
      protocols: [{ name: 'recv', neighbor: RECEIVER.address, asn: RECEIVER.asn, passive: true }],
    });
    birds.push(sink);
    const startAt = Date.now();
    recv = await r.start(nsRecv, path.join(dir, 'recv'));
    await poll(
      async () => /Established/.test(await sink.birdc('show', 'protocols')),
      (x) => x,
      30000,
      `${r.name} to second peer Established`,
      10,
    );
    const startupMs = Date.now() - startAt;
    const startupCpuMs = cpuMs(recv.pid());

    // The sender is our blaster: UPDATEs precomputed, written the moment the session is up.
    const blaster = nsSend.spawn(
      process.execPath,
      [
        BLASTER,
        '--local',
        SENDER.address,
        '--peer',
        RECEIVER.address,
        '--asn',
        String(SENDER.asn),
        '--routes',
        String(ROUTES),
        ...(UNIQUE_MED ? ['--unique-med'] : []),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    senders.push(blaster);
    let connectedAt = 0;
    let cpuAtStart: number | undefined;
    let faultsAtStart = 0;
    const t0 = await new Promise<number>((resolve, reject) => {
      let out = '';
      blaster.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        connectedAt = Number(/connected (\d+)/.exec(out)?.[1] ?? 0);
        const m = /established (\d+)/.exec(out);
        // Once: the blaster's later lines ("written") come with the whole output again.
        if (m && cpuAtStart === undefined) {
          cpuAtStart = cpuMs(recv!.pid());
          faultsAtStart = minorFaults(recv!.pid());
          resolve(Number(m[1]));
        }
      });
      blaster.once('exit', (code) => reject(new Error(`blaster exited with ${code} before the session came up`)));
    });
    await poll(
      () => recv!.count(),
      (n) => (process.env.BENCH_DEBUG && process.stderr.write(`${Date.now() - t0} ms: ${n}\n`), n >= ROUTES),
      300000,
      `${r.name} has all routes`,
      20,
    );
    const t1 = Date.now();
    await poll(
      () => birdImported(sink, 'recv'),
      (n) => n >= ROUTES,
      300000,
      `second peer has all routes via ${r.name}`,
      20,
    );
    const t2 = Date.now();
    const cpu = cpuMs(recv.pid()) - cpuAtStart!;
    const faults = minorFaults(recv.pid()) - faultsAtStart;
    await sleep(500);
    const rss = rssMiB(recv.pid());
    await sleep(SETTLE_S * 1000 - 500);
    const settledRss = rssMiB(recv.pid());
    if (process.env.BENCH_HEAP && r.name === 'kube-router-ts') {
      process.kill(recv.pid(), 'SIGUSR2');
      await sleep(20000);
    }
    return {
      name: r.name,
      startupMs,
      startupCpuMs,
      setupMs: t0 - connectedAt,
      toRib: (t1 - t0) / 1000,
      toSecondPeer: (t2 - t0) / 1000,
      cpuMs: cpu,
      faults,
      rss,
      settledRss,
    };
  } finally {
    recv?.stop();
    for (const b of birds) b.stop();
    for (const c of senders) c.kill('SIGKILL');
    for (const n of ns) await n.destroy();
    await seg?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The median of some numbers (the lower middle one of an even count). */
function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1]!;
}

/** A cell: the value, or over several rounds the median and the range. */
function cell(xs: readonly number[], digits: number, unit: string): string {
  const f = (x: number): string => x.toFixed(digits);
  const u = unit ? ` ${unit}` : '';
  if (xs.length === 1) return `${f(xs[0]!)}${u}`;
  return `${f(median(xs))}${u} (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;
}

async function main(): Promise<void> {
  process.stdout.write(podEnvNote());
  const chosen = receivers.filter((r) => !ONLY || ONLY.some((o) => r.name.toLowerCase().includes(o.toLowerCase())));
  const runs = new Map<string, Result[]>(chosen.map((r) => [r.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, r] of chosen.entries()) {
      process.stderr.write(`measuring ${r.name}${ROUNDS > 1 ? ` (round ${round} of ${ROUNDS})` : ''}...\n`);
      runs.get(r.name)!.push(await measure(r, String(i)));
    }
  }
  const col = (name: string, f: (r: Result) => number): number[] => runs.get(name)!.map(f);
  const ours = runs.has('kube-router-ts') ? 'kube-router-ts' : undefined;
  const ratio = (name: string, f: (r: Result) => number): string =>
    ours ? `${(median(col(ours, f)) / median(col(name, f))).toFixed(2)}x` : '-';
  // The table's columns: what, shown with how many decimals, in which unit; all but the first three get a ratio.
  const columns: [(r: Result) => number, number, string][] = [
    [(r) => r.startupMs, 0, 'ms'],
    [(r) => r.startupCpuMs, 0, 'ms'],
    [(r) => r.setupMs, 0, 'ms'],
    [(r) => r.toRib, 3, 's'],
    [(r) => r.toSecondPeer, 3, 's'],
    [(r) => r.cpuMs, 0, 'ms'],
    [(r) => r.faults, 0, ''],
    [(r) => r.rss, 0, 'MiB'],
    [(r) => r.settledRss, 0, 'MiB'],
  ];
  const lines = [
    `${ROUTES} IPv4 /32 routes from one sender${UNIQUE_MED ? ', unique MED per route (one prefix per UPDATE)' : ' (packed UPDATEs)'}; ${os.cpus().length} CPUs, Node ${process.version}` +
      (ROUNDS > 1 ? `; ${ROUNDS} rounds, receivers taking turns: median (range)` : ''),
    '',
    `| receiver | start to 2nd peer up | CPU by then | session setup | Established to all in RIB | + re-advertised to a 2nd peer | receiver's CPU until then | page faults until then | RSS 0.5 s after | RSS ${SETTLE_S} s after | kube-router-ts / this (RIB, 2nd peer, CPU, faults, RSS, RSS ${SETTLE_S} s) |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...chosen.map(
      ({ name }) =>
        `| ${name} | ${columns.map(([f, digits, unit]) => cell(col(name, f), digits, unit)).join(' | ')} | ${columns
          .slice(3)
          .map(([f]) => ratio(name, f))
          .join(', ')} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
