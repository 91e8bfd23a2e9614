/**
 * Where the speaker's time and allocations go for a full table, stage by stage, in one process
 * (no sockets, no peers): 100,000 /32 in packed UPDATEs decoded, imported, applied to the RIB,
 * exported into two Adj-RIBs-Out (the sender's, which gets nothing back, and a second eBGP
 * peer's), taken and encoded in batches of 4,000 as the speaker sends them. A diagnostic
 * beside bench/rib-load.ts, which measures the same work end to end against BIRD, FRR and GoBGP.
 *
 * - time: a fresh process with the agent's environment (process-env.ts); the first round is
 *   what a speaker pays for its first full table (code not yet optimized, heap not yet grown),
 *   later rounds the same work warm (median). Beside the first table, the minor page faults it
 *   took (memory touched for the first time: each costs about 10 µs on this machine).
 * - allocation: bytes allocated per route in each stage, read from the heap's growth with a
 *   young generation large enough that no collection runs inside a stage.
 *
 * With --unique-med every route has a MED of its own (one route per UPDATE), as in rib-load.
 *
 * - V8's collection pauses inside each table and how much its old space grew: what the young
 *   collections copied and promoted (--semi-space 1 caps the young generation at 1 MiB, where an
 *   idle speaker's stands when a table arrives).
 *
 *   node dist/bench/pipeline-stages.js [--rounds 8] [--unique-med] [--host-env] [--semi-space N]
 */
import v8 from 'node:v8';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { decodeUpdate } from '../bgp/codec/update';
import { Reader } from '../bgp/codec/reader';
import { ErrorCode } from '../bgp/codec/errors';
import { importUpdate } from '../bgp/policy/import';
import { exportPath, ExportTarget, sameEbgpExport } from '../bgp/policy/export';
import { Rib, BestChange, RouteInput } from '../bgp/rib/rib';
import type { PathAttributes, PeerRef } from '../bgp/rib/path';
import { AdjRibOut, advertised, Advertised, Taken } from '../bgp/speaker/adj-rib-out';
import { buildAnnouncements, packAnnouncements } from '../bgp/speaker/update-builder';
import { AGENT_ENV, AGENT_NODE_ARGS } from '../src/agent/process-env';
import { run } from '../src/util/exec';
import { flag, option } from './args';
import { podEnv, podEnvNote } from './pod-env';

const ROUTES = 100000;
const UNIQUE_MED = flag('unique-med');
const BATCH = 4000;
const STAGES = ['decode', 'import', 'rib', 'adjRibOut', 'take', 'encode'] as const;
type Stage = (typeof STAGES)[number];

const ctx = { as4: true };
const sender: PeerRef = { address: '10.0.0.1', asn: 65001, ibgp: false, routerId: '10.0.0.1' };
const toSecond: ExportTarget = { address: '10.0.0.3', asn: 65003, ibgp: false, families: ['ipv4-unicast'], nextHop: () => '10.0.0.2' };
const toSender: ExportTarget = { ...toSecond, address: sender.address, asn: sender.asn };

/** The bodies of the table's UPDATEs, past the 19-octet header, as the framer hands them on. */
function table(): Buffer[] {
  const prefixes = Array.from({ length: ROUTES }, (_, i) => `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
  const attrs = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: sender.address };
  // --unique-med: a MED per route, so one route per UPDATE and an attribute set each.
  const messages = UNIQUE_MED
    ? prefixes.flatMap((p, i) => buildAnnouncements('ipv4-unicast', { ...attrs, med: i }, [p], ctx))
    : buildAnnouncements('ipv4-unicast', attrs, prefixes, ctx);
  return messages.map((m) => m.subarray(19));
}

const overrun = { code: ErrorCode.UpdateMessage, subcode: 1 };
const decode = (body: Buffer) => decodeUpdate(new Reader(body, overrun), ctx);
const imported = (u: ReturnType<typeof decode>): RouteInput[] =>
  importUpdate(u, { localAsn: 64512, routerId: '10.0.0.2', peer: sender, as4: true, families: ['ipv4-unicast'], enforceFirstAs: true })
    .routes;

/**
 * What the speaker does per peer with the RIB's changes: exports them into the peer's
 * Adj-RIB-Out, reusing the last export result for the same attributes or, toward eBGP, for
 * attributes that export alike (as Outbound does, across UPDATEs).
 */
function exporter(out: AdjRibOut, target: ExportTarget): (changes: readonly BestChange[]) => void {
  let from: PathAttributes | undefined;
  let adv: Advertised | undefined;
  return (changes) => {
    for (const c of changes) {
      if (c.best?.attrs !== from && !(from && c.best && sameEbgpExport(c.best.attrs, from))) {
        from = c.best?.attrs;
        const attrs = c.best && exportPath(c.best, target, { asn: 64512 });
        adv = attrs ? advertised(attrs) : undefined;
      }
      out.set(c.slot, adv);
    }
  };
}

/** Packs taken changes into UPDATEs (here they all share one attribute set); how many. */
function encode(taken: Taken): number {
  return taken.advs[0] ? packAnnouncements('ipv4-unicast', taken.advs[0].attrs, taken.prefixes, ctx).messages.length : 0;
}

interface Timed {
  ms: Record<Stage, number>;
  /** V8's collection pauses inside the round (all kinds), and how much its old space grew. */
  gcMs: number;
  oldGrownBytes: number;
  /** Minor page faults: memory touched for the first time (about 10 µs each on this machine). */
  faults: Record<Stage, number>;
}

const zero = (): Record<Stage, number> => ({ decode: 0, import: 0, rib: 0, adjRibOut: 0, take: 0, encode: 0 });

/** One full table through every stage, as the speaker runs them: per UPDATE, sending every BATCH changes. */
function timedRound(bodies: Buffer[]): Omit<Timed, 'gcMs'> & { from: number; to: number } {
  const from = performance.now();
  const old0 = oldSpaceUsed();
  const t = zero();
  const f = zero();
  const rib = new Rib(64512);
  const second = new AdjRibOut(rib.prefixes);
  const toBack = exporter(new AdjRibOut(rib.prefixes), toSender);
  const toNext = exporter(second, toSecond);
  let at = performance.now();
  let faultsAt = process.resourceUsage().minorPageFault;
  const lap = (s: Stage): void => {
    const now = performance.now();
    const faults = process.resourceUsage().minorPageFault;
    t[s] += now - at;
    f[s] += faults - faultsAt;
    at = now;
    faultsAt = faults;
  };
  for (const body of bodies) {
    const u = decode(body);
    lap('decode');
    const routes = imported(u);
    lap('import');
    const changes = rib.apply(sender, routes);
    lap('rib');
    toBack(changes);
    toNext(changes);
    lap('adjRibOut');
    if (second.pendingCount >= BATCH) {
      const taken = second.takeAll();
      lap('take');
      encode(taken);
      lap('encode');
    }
  }
  encode(second.takeAll());
  lap('encode');
  return { ms: t, faults: f, oldGrownBytes: oldSpaceUsed() - old0, from, to: performance.now() };
}

const oldSpaceUsed = (): number => v8.getHeapSpaceStatistics().find((x) => x.space_name === 'old_space')!.space_used_size;

/** Full tables one after another, each with the collection pauses that fell inside it. */
async function timedRounds(bodies: Buffer[], rounds: number): Promise<Timed[]> {
  const pauses: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => pauses.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const done = Array.from({ length: rounds }, () => timedRound(bodies));
  // The observer hears of the collections only once the event loop turns.
  await new Promise((r) => setTimeout(r, 100));
  observer.disconnect();
  return done.map(({ from, to, ...r }) => ({
    ...r,
    gcMs: pauses.filter((e) => e.startTime >= from && e.startTime < to).reduce((sum, e) => sum + e.duration, 0),
  }));
}

/** Bytes allocated per route in each stage (each stage over the whole table, a collection before it). */
function allocationRound(bodies: Buffer[], gc: () => void): Record<Stage, number> {
  const a = {} as Record<Stage, number>;
  const measure = <T>(s: Stage, f: () => T): T => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const r = f();
    a[s] = (process.memoryUsage().heapUsed - before) / ROUTES;
    return r;
  };
  const updates = measure('decode', () => bodies.map(decode));
  const routes = measure('import', () => updates.map(imported));
  const rib = new Rib(64512);
  const changes = measure('rib', () => routes.map((r) => rib.apply(sender, r)));
  const second = new AdjRibOut(rib.prefixes);
  const toBack = exporter(new AdjRibOut(rib.prefixes), toSender);
  const toNext = exporter(second, toSecond);
  measure('adjRibOut', () => {
    for (const c of changes) toBack(c);
    for (const c of changes) toNext(c);
  });
  const taken = measure('take', () => second.takeAll());
  measure('encode', () => encode(taken));
  return a;
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const total = (r: Record<Stage, number>): number => STAGES.reduce((s, k) => s + r[k], 0);

async function child(mode: 'time' | 'alloc', rounds: number): Promise<void> {
  const bodies = table();
  if (mode === 'alloc') {
    const gc = (globalThis as { gc?: () => void }).gc!;
    allocationRound(bodies, gc); // the first round also compiles
    process.stdout.write(JSON.stringify(allocationRound(bodies, gc)));
    return;
  }
  process.stdout.write(JSON.stringify(await timedRounds(bodies, rounds)));
}

async function main(): Promise<void> {
  const rounds = Number(option('rounds') ?? 8);
  const semiSpace = option('semi-space');
  const mode = option('child');
  if (mode === 'time' || mode === 'alloc') {
    await child(mode, rounds);
    return;
  }

  process.stdout.write(podEnvNote());
  const self = process.argv[1]!;
  const load = UNIQUE_MED ? ['--unique-med'] : [];
  const timed = JSON.parse(
    (
      await run(process.execPath, [...AGENT_NODE_ARGS, self, '--child', 'time', '--rounds', String(rounds), ...load], {
        // --semi-space N: V8's young generation capped at N MiB instead of the agent's 4 (an
        // idle speaker's has shrunk to 1 MiB when a table arrives, and grows from there).
        env: { ...podEnv(), ...AGENT_ENV, ...(semiSpace ? { NODE_OPTIONS: `--max-semi-space-size=${semiSpace}` } : {}) },
        timeout: 0,
      })
    ).stdout,
  ) as Timed[];
  const alloc = JSON.parse(
    (
      await run(
        process.execPath,
        ['--expose-gc', '--min-semi-space-size=512', '--max-semi-space-size=512', self, '--child', 'alloc', ...load],
        {
          env: { ...podEnv(), NODE_OPTIONS: '' },
          timeout: 0,
        },
      )
    ).stdout,
  ) as Record<Stage, number>;

  const warm = timed.slice(1).map((r) => r.ms);
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const mib = (x: number): string => `${(x / 1048576).toFixed(1)} MiB`;
  const rows = [...STAGES, 'total'].map((s) => {
    const of = (r: Record<Stage, number>): number => (s === 'total' ? total(r) : r[s as Stage]);
    return `| ${s} | ${ms(of(timed[0]!.ms))} | ${of(timed[0]!.faults)} | ${ms(median(warm.map(of)))} | ${(s === 'total' ? total(alloc) : alloc[s as Stage]).toFixed(0)} |`;
  });
  process.stdout.write(
    [
      `${ROUTES} IPv4 /32 in ${UNIQUE_MED ? 'UPDATEs of one route, each with a MED of its own' : 'packed UPDATEs'}, one process, Node ${process.version}`,
      '',
      '| stage | first table | page faults in the first table | warm (median) | bytes allocated per route |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      `Collection pauses inside a table (V8's young generation at most ${semiSpace ?? 4} MiB): first ${ms(timed[0]!.gcMs)}, ` +
        `warm ${ms(median(timed.slice(1).map((r) => r.gcMs)))}; old space grown by a table: first ${mib(timed[0]!.oldGrownBytes)}, ` +
        `warm ${mib(median(timed.slice(1).map((r) => r.oldGrownBytes)))}.`,
      '',
    ].join('\n'),
  );
  if (flag('json')) process.stdout.write(`${JSON.stringify({ timed, alloc })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
