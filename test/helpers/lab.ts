/**
 * Lab tests drive the lab as users do, through the CLI. `labCli` runs `kube-router-ts ARGS`;
 * `labDown` takes a lab down and checks that nothing of it is left; `labUp` brings one up and
 * loads its state, failing with the CLI's own output.
 */
import fs from 'node:fs';
import { run, RunResult } from '../../src/util/exec';
import { Lab } from '../../lab/cluster';
import { listNetns } from '../../lab/netns';
import { CLI } from './our-speaker';

export const labCli = (...args: string[]): Promise<RunResult> => run(process.execPath, [CLI, ...args], { allowFail: true, timeout: 0 });

export async function labUp(dir: string, prefix: string, args: string[]): Promise<{ lab: Lab; stdout: string }> {
  const up = await labCli('lab', 'up', ...args, `--dir=${dir}`, `--prefix=${prefix}`);
  if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.stderr}${up.stdout}`);
  return { lab: Lab.load(dir), stdout: up.stdout };
}

export async function labDown(dir: string, prefix: string): Promise<void> {
  expect((await labCli('lab', 'down', `--dir=${dir}`, `--prefix=${prefix}`)).code).toBe(0);
  expect(await listNetns(prefix)).toEqual([]);
  expect(fs.existsSync(dir)).toBe(false);
}

/** A ping every 10 ms from a namespace, counted when stopped (SIGINT makes ping print its summary). */
export function continuousPing(
  lab: Lab,
  netns: string,
  target: string,
  logFile: string,
): { stop(): Promise<{ sent: number; received: number }> } {
  const child = lab.netns(netns).spawn('ping', ['-n', '-i', '0.01', '-W', '1', target], { logFile });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
      const out = fs.readFileSync(logFile, 'utf8');
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!m) throw new Error(`no ping summary in ${logFile}: ${out.slice(-500)}`);
      return { sent: Number(m[1]), received: Number(m[2]) };
    },
  };
}
