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
