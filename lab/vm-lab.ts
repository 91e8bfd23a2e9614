/**
 * `lab ... --vm`: the same lab inside the VM (lab/vm/), for machines whose kernel lacks
 * ipip and fou. The VM outlives `lab up` (qemu detached); `lab status`, `lab restart` and
 * `lab down` on the host find it by its scratch directory and run the same command inside,
 * where the lab runs from the single-file bundle (loading the ESM module graph under emulation
 * would take half a minute per process).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Vm, VmClient } from './vm/vm';
import { repoRoot } from './repo';
import { killGroup } from './netns';
import { alive, until } from './wait';
import type { RunResult } from '../src/util/exec';

export const VM_LAB_SCRATCH = '/run/kube-router-ts/vm-lab';
const pidFile = (): string => path.join(VM_LAB_SCRATCH, 'qemu.pid');

/** The running VM lab, if there is one. */
export function vmLab(): VmClient | undefined {
  const pid = fs.existsSync(pidFile()) ? Number(fs.readFileSync(pidFile(), 'utf8')) : 0;
  if (!pid || !alive(pid)) return undefined;
  const c = Vm.attach(VM_LAB_SCRATCH);
  return c.running ? c : undefined;
}

const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

/** Runs `kube-router-ts lab ARGS` inside the VM lab. */
export function inVmLab(vm: VmClient, args: string[], timeoutMs = 900000): Promise<RunResult> {
  const bundle = path.join(repoRoot(), 'dist', 'kube-router-ts.js');
  return vm.run(`cd ${quote(repoRoot())} && node ${quote(bundle)} lab ${args.map(quote).join(' ')}`, { allowFail: true, timeoutMs });
}

/**
 * `lab up`'s arguments for the lab inside the VM: under emulation several agents starting at once
 * may take over a minute to list, kube-router's --cache-sync-timeout; they get five minutes
 * unless --agent-args="..." names the flag itself.
 */
export function emulatedLabArgs(args: readonly string[]): string[] {
  const flag = '--agent-args=';
  const i = args.findIndex((a) => a.startsWith(flag));
  const given = i >= 0 ? args[i]!.slice(flag.length) : '';
  if (given.includes('--cache-sync-timeout') || args.includes('--agent-args')) return [...args];
  const value = `${flag}${[given, '--cache-sync-timeout=5m'].filter(Boolean).join(' ')}`;
  return i >= 0 ? args.map((a, j) => (j === i ? value : a)) : [...args, value];
}

/** Boots the VM (left running) and brings the lab up inside it with `args` (lab up's, without --vm). */
export async function vmLabUp(args: string[], out: (line: string) => void): Promise<number> {
  if (vmLab()) throw new Error(`a VM lab is already running (${VM_LAB_SCRATCH}); take it down with "kube-router-ts lab down"`);
  const bundle = path.join(repoRoot(), 'dist', 'kube-router-ts.js');
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run "npm run build"`);
  fs.rmSync(VM_LAB_SCRATCH, { recursive: true, force: true });
  out('booting the VM (Debian kernel under qemu, software emulation)...');
  const vm = await Vm.boot({ scratch: VM_LAB_SCRATCH, memoryMiB: 4096 });
  fs.writeFileSync(pidFile(), `${vm.pid}\n`);
  vm.detach();
  out(`VM up in ${(vm.bootMs / 1000).toFixed(1)} s; running "lab up" inside (a minute or two under emulation)...`);
  const r = await inVmLab(Vm.attach(VM_LAB_SCRATCH), ['up', ...emulatedLabArgs(args)]);
  if (r.stdout) out(r.stdout.trimEnd());
  if (r.stderr) process.stderr.write(r.stderr);
  return r.code;
}

/** Takes the lab down inside the VM, powers the VM off and removes its scratch directory. */
export async function vmLabDown(out: (line: string) => void): Promise<void> {
  const vm = vmLab();
  const pid = fs.existsSync(pidFile()) ? Number(fs.readFileSync(pidFile(), 'utf8')) : 0;
  if (vm) {
    const r = await inVmLab(vm, ['down']);
    if (r.stdout) out(r.stdout.trimEnd());
    vm.powerOff();
  }
  if (pid) {
    await until(() => !alive(pid), 30000, 'the VM to power off').catch(() => killGroup(pid, 'SIGKILL'));
  }
  fs.rmSync(VM_LAB_SCRATCH, { recursive: true, force: true });
}
