/**
 * What every node pays for the agent, measured on the lab as users run it: `lab up --nodes 3
 * --tor` (its own directory and namespace prefix), then, 30 s after BGP converged:
 * - each agent's RSS, split into anonymous memory (its own) and file pages (the node binary's
 *   code it touched), and its heap as it reports it; BIRD's RSS on the ToR beside it;
 * - the peak RSS of `kube-router-ts --version`: the bundle the image runs, the tsc output, and
 *   a bare `node -e 0` as the floor (median of 5 runs each).
 *
 * Every process runs with the environment a node's pod has (bench/pod-env.ts; --host-env: this
 * shell's).
 *
 * --agent-node-args "..." starts each agent's `node` with those options after the image's (lab up
 * --agent-node-args; "--sparkplug" undoes its "--no-sparkplug", "--short-builtin-calls" its
 * "--no-short-builtin-calls"), for measuring what they change.
 *
 * --samples N reads the agents' RSS N times, 10 s apart from the first reading on, and prints the
 * median and range of all those readings: one reading falls before or after V8's first
 * memory-reducing collection (about 50 s after an agent starts), a few MiB apart.
 *
 *   node dist/bench/agent-footprint.js [--settle 30] [--samples 1] [--host-env] [--agent-node-args "--max-opt=1"]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../src/util/exec';
import { agentProgram, labProgram } from '../lab/programs';
import { repoRoot } from '../lab/repo';
import { option } from './args';
import { podEnv, podEnvNote } from './pod-env';

const DIR = '/run/kube-router-ts/bench-footprint';
const PREFIX = 'krb-fp-';
const MiB = 2 ** 20;
const SAMPLE_EVERY_S = 10;

const env = podEnv();

const lab = (...args: string[]) => run(process.execPath, [labProgram(), ...args, `--dir=${DIR}`], { timeout: 0, env });

/** Processes whose command line contains `needle`: pid and command line. */
function processes(needle: string): { pid: number; cmdline: string }[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmdline.includes(needle) ? [{ pid: Number(d), cmdline }] : [];
      } catch {
        return [];
      }
    });
}

/** RSS, and its anonymous and file-backed parts, in bytes (/proc/PID/smaps_rollup). */
function memory(pid: number): { rss: number; anon: number; file: number } {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('Rss'), anon: kb('Anonymous'), file: kb('Rss') - kb('Anonymous') };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Peak RSS of `node ARGS`, bytes, as the process itself reports it at exit (median of `runs`). */
async function peakRss(args: string[], runs = 5): Promise<number> {
  const hook = path.join(os.tmpdir(), `krt-peak-${process.pid}.js`);
  fs.writeFileSync(hook, "process.on('exit', () => process.stderr.write(`\\nmaxRSS=${process.resourceUsage().maxRSS}\\n`));");
  try {
    const out: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await run(process.execPath, ['--require', hook, ...args], { allowFail: true, env });
      out.push(Number(/maxRSS=(\d+)/.exec(r.stderr)?.[1] ?? NaN) * 1024);
    }
    return median(out);
  } finally {
    fs.rmSync(hook, { force: true });
  }
}

async function main(): Promise<void> {
  const settle = Number(option('settle') ?? 30);
  process.stdout.write(podEnvNote());
  await lab('down', `--prefix=${PREFIX}`).catch(() => undefined);
  try {
    const t0 = Date.now();
    const nodeArgs = option('agent-node-args');
    await lab('up', '--nodes', '3', '--tor', `--prefix=${PREFIX}`, ...(nodeArgs ? [`--agent-node-args=${nodeArgs}`] : []));
    process.stdout.write(`lab up (3 nodes, ToR) converged in ${((Date.now() - t0) / 1000).toFixed(1)} s; settling ${settle} s\n\n`);
    await new Promise((r) => setTimeout(r, settle * 1000));
    const status = JSON.parse((await lab('status', '--json')).stdout) as { nodes: { name: string; rss?: number }[] };
    const agents = processes(`${agentProgram()} --kubeconfig=${DIR}/`);
    const rows: string[][] = [];
    for (const n of status.nodes) {
      const p = agents.find((a) => a.cmdline.includes(`/${n.name}/kubeconfig`));
      if (!p) throw new Error(`no agent process for ${n.name}`);
      const m = memory(p.pid);
      rows.push([
        `agent ${n.name}`,
        (m.rss / MiB).toFixed(1),
        (m.anon / MiB).toFixed(1),
        (m.file / MiB).toFixed(1),
        ((n.rss ?? NaN) / MiB).toFixed(1),
      ]);
    }
    const bird = processes(`${DIR}/`).find((p) => /(^|\/)bird /.test(p.cmdline));
    if (bird) {
      const m = memory(bird.pid);
      rows.push(['BIRD (the ToR)', (m.rss / MiB).toFixed(1), (m.anon / MiB).toFixed(1), (m.file / MiB).toFixed(1), '-']);
    }
    process.stdout.write(
      `| process, ${settle} s after convergence | RSS MiB | anonymous | file pages | as the agent reports |\n|---|---|---|---|---|\n`,
    );
    for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
    const agentRss = median(rows.filter((r) => r[0]!.startsWith('agent')).map((r) => Number(r[1])));
    process.stdout.write(`\nagents' median RSS: ${agentRss.toFixed(1)} MiB (goal 60)\n\n`);
    const samples = Number(option('samples') ?? 1);
    if (samples > 1) {
      const readings = rows.filter((r) => r[0]!.startsWith('agent')).map((r) => Number(r[1]));
      for (let i = 1; i < samples; i++) {
        await new Promise((r) => setTimeout(r, SAMPLE_EVERY_S * 1000));
        for (const a of agents) readings.push(memory(a.pid).rss / MiB);
      }
      const sorted = [...readings].sort((a, b) => a - b);
      process.stdout.write(
        `agents' RSS over ${samples} readings ${SAMPLE_EVERY_S} s apart (${settle}-${settle + (samples - 1) * SAMPLE_EVERY_S} s after convergence, ${readings.length} in all): median ${median(readings).toFixed(1)} MiB, range ${sorted[0]!.toFixed(1)}-${sorted.at(-1)!.toFixed(1)}\n\n`,
      );
    }
  } finally {
    await lab('down', `--prefix=${PREFIX}`).catch(() => undefined);
  }
  const bare = await peakRss(['-e', '0']);
  const bundle = await peakRss([agentProgram(), '--version']);
  const tsc = await peakRss([path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), '--version']);
  process.stdout.write('| `--version`, peak RSS (median of 5) | MiB | over bare node |\n|---|---|---|\n');
  for (const [name, v] of [
    ['the bundle (dist/kube-router-ts.js, what the image runs)', bundle],
    ['the tsc output (dist/src/cli/main.js)', tsc],
    ['bare `node -e 0`', bare],
  ] as const)
    process.stdout.write(`| ${name} | ${(v / MiB).toFixed(1)} | +${((v - bare) / MiB).toFixed(1)} |\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
