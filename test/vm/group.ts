/**
 * One VM per test file ("group"): booted in beforeAll, powered off in afterAll, its scratch
 * directory removed. Where no VM can run, the group's tests fail with the reason: a test that
 * needs the VM never passes without it.
 */
import fs from 'node:fs';
import { Vm, vmUnavailable } from '../../src/lab/vm/vm';

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
