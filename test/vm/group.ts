/**
 * One VM per test file ("group"): booted in beforeAll, powered off in afterAll, its scratch
 * directory removed. Where no VM can run, the group's tests fail with the reason: a test that
 * needs the VM never passes without it.
 */
import fs from 'node:fs';
import path from 'node:path';
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

let snippets = 0;

/**
 * Runs a snippet of our compiled code in a network namespace inside the VM and returns its
 * result (like test/helpers/in-netns.ts on the host). `dist(path)` requires a module from dist/.
 */
export async function inVmNetns<T = unknown>(vm: Vm, netns: string, body: string): Promise<T> {
  const dist = path.resolve(__dirname, '../../dist');
  const file = `${vm.scratch}/snippet-${process.pid}-${++snippets}.js`;
  fs.writeFileSync(
    file,
    `const dist = (p) => require(${JSON.stringify(dist)} + '/' + p);
(async () => { ${body} })().then(
  (v) => { process.stdout.write(JSON.stringify(v === undefined ? null : v)); process.exit(0); },
  (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`,
  );
  try {
    const r = await vm.run(`ip netns exec ${netns} node ${file}`, { allowFail: true });
    if (r.code !== 0) throw new Error(`in the VM, in ${netns}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as T;
  } finally {
    fs.rmSync(file, { force: true });
  }
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
