/**
 * One VM per test file ("group"): booted in beforeAll, powered off in afterAll, its scratch
 * directory removed. Where no VM can run, the group's tests fail with the reason: a test that
 * needs the VM never passes without it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NetnsCalls } from '../../lab/netns-calls';
import type { PieceName, Plan, Results } from '../../src/dataplane/pieces';
import { Vm, vmUnavailable } from '../../lab/vm/vm';

export interface VmGroup {
  vm(): Vm;
}

export function vmGroup(name: string, o: { memoryMiB?: number } = {}): VmGroup {
  const scratch = `/run/kube-router-ts/vm-test-${name}-${process.pid}`;
  let vm: Vm | undefined;
  let failure: string | undefined;
  beforeAll(async () => {
    failure = vmUnavailable();
    if (failure) {
      process.stdout.write(`\n[vm:${name}] cannot run: ${failure}\n`);
      return;
    }
    vm = await Vm.boot({ scratch, ...(o.memoryMiB ? { memoryMiB: o.memoryMiB } : {}) });
    process.stdout.write(`\n[vm:${name}] booted in ${(vm.bootMs / 1000).toFixed(1)} s\n`);
  }, 180000);
  afterAll(async () => {
    await vm?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }, 60000);
  return {
    vm(): Vm {
      if (!vm) throw new Error(`the VM for ${name} is not running: ${failure ?? 'its boot failed (see above)'}`);
      return vm;
    },
  };
}

/**
 * One typed operation of lab/netns-calls.ts, run inside the VM, in a network namespace or (netns
 * undefined) in the VM's own (as test/helpers/in-netns.ts `netnsCall` on the host).
 */
export async function vmNetnsCall<K extends keyof NetnsCalls>(
  vm: Vm,
  netns: string | undefined,
  name: K,
  ...args: Parameters<NetnsCalls[K]>
): Promise<Awaited<ReturnType<NetnsCalls[K]>>> {
  const program = path.resolve(__dirname, '../../dist/lab/netns-calls.js');
  const quote = (x: string): string => `'${x.replace(/'/g, `'\\''`)}'`;
  const inNs = netns ? `ip netns exec ${netns} ` : '';
  const r = await vm.run(`${inNs}node ${program} ${name} ${quote(JSON.stringify(args))}`, { allowFail: true, timeoutMs: 300000 });
  if (r.code !== 0) throw new Error(`in the VM${netns ? `, in ${netns}` : ''}: ${name}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Awaited<ReturnType<NetnsCalls[K]>>;
}

/** One data path piece's reconcile in a namespace inside the VM, typed by the piece. */
export function vmNetnsReconcile<N extends PieceName>(
  vm: Vm,
  netns: string,
  name: N,
  desired: NonNullable<Plan[N]>,
): Promise<NonNullable<Results[N]>> {
  return vmNetnsCall(vm, netns, 'reconcile', name, desired) as Promise<NonNullable<Results[N]>>;
}

/**
 * How soon a repair must come in the VM: under emulation a fork costs some thirty times what it
 * does on hardware and a reconcile forks several commands, so seconds pass; the bound shows the
 * repair came from the drift machinery, well before the lab's 60 s periodic sync. The host lab
 * (test/lab/trust.test.ts) holds its objects to the real target, 2 s.
 */
export const VM_HEAL_MS = 30000;

/**
 * Breaks something in a node's namespace inside the VM and measures how long until `check`
 * (a shell test, run in the namespace) holds again: milliseconds, or -1 if not within 45 s.
 * Timed inside the VM, so the host's view of the emulated clock does not enter into it.
 */
export async function timeToHeal(vm: Vm, netns: string, breakIt: string, check: string): Promise<number> {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const r = await vm.run(
    `inns() { ip netns exec ${netns} sh -c "$1"; }
inns ${q(check)} > /dev/null 2>&1 || { echo "not healthy before: ${check.replace(/["$`\\]/g, '')}" >&2; exit 3; }
inns ${q(breakIt)}
t0=$(date +%s%N)
while :; do
  if inns ${q(check)} > /dev/null 2>&1; then echo $(( ($(date +%s%N) - t0) / 1000000 )); exit 0; fi
  [ $(( $(date +%s%N) - t0 )) -gt 45000000000 ] && { echo -1; exit 0; }
  sleep 0.02
done`,
    { allowFail: true },
  );
  if (r.code !== 0) throw new Error(`timeToHeal in ${netns}: ${r.stderr.trim() || r.stdout.trim()}`);
  return Number(r.stdout.trim());
}
