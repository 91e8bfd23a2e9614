/**
 * A small VM for what this host's kernel lacks (ipip, fou, dummy, IPVS): Debian's kernel under
 * qemu with software emulation (no /dev/kvm here), the host's / as its root (read-only 9p under
 * a tmpfs overlay) and a writable scratch directory shared at the same path on both sides.
 *
 * Commands go in as job files in the scratch directory; a runner in the VM runs each as soon as
 * it appears (several at once) and leaves its output and exit code next to it. One boot serves
 * many commands: a test group, or a whole lab that lives on after `lab up`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';
import { kernelVersion, vmlinux } from './kernel';
import { initramfs } from './initramfs';
import { killGroup } from '../netns';
import { repoRoot } from '../repo';
import type { RunResult } from '../../src/util/exec';

/** The job runner, started by /init inside the VM's root: one shell loop, no dependencies. */
const GUEST = `#!/bin/sh
# Runs every jobs/N.sh the host places: output to N.out / N.err, exit code to N.rc (written last).
dir=$1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
cd /
mkdir -p "$dir/jobs"
echo up > "$dir/ready"
while [ ! -e "$dir/poweroff" ]; do
  for job in "$dir"/jobs/*.sh; do
    [ -e "$job" ] || continue
    n=\${job%.sh}
    mv "$job" "$n.run"
    ( sh "$n.run" > "$n.out" 2> "$n.err" < /dev/null; echo $? > "$n.rc.tmp"; mv "$n.rc.tmp" "$n.rc" ) &
  done
  sleep 0.05
done
`;

export interface VmOptions {
  /** Directory shared read-write with the VM, at the same path inside; created, and kept after stop. */
  scratch: string;
  memoryMiB?: number;
  /** vCPUs (default 2: node's startup compiles on helper threads, which a second vCPU speeds up). */
  cpus?: number;
  /** Called with each line the VM prints on its console (kernel and /init). */
  console?: (line: string) => void;
  /** How long the boot may take, up to the job runner being ready. */
  bootTimeoutMs?: number;
}

export class VmError extends Error {}

/** What is missing for a VM on this machine, or undefined when it can run. */
export function vmUnavailable(): string | undefined {
  if (!fs.existsSync('/usr/bin/qemu-system-x86_64')) return 'qemu-system-x86_64 is missing (apt install qemu-system-x86)';
  if (!fs.existsSync('/bin/busybox')) return 'busybox is missing (apt install busybox-static)';
  try {
    kernelVersion();
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

export class Vm {
  private seq = 0;
  private exited: Promise<number | null>;
  readonly bootMs: number;

  private constructor(
    readonly scratch: string,
    private readonly child: ChildProcess,
    bootMs: number,
  ) {
    this.bootMs = bootMs;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async boot(o: VmOptions): Promise<Vm> {
    const missing = vmUnavailable();
    if (missing) throw new VmError(`cannot start the VM: ${missing}`);
    const started = Date.now();
    for (const p of [o.scratch, repoRoot()])
      if (/[\s"'\\]/.test(p))
        throw new VmError(`the VM cannot share ${JSON.stringify(p)}: a path with spaces or quotes does not fit on the kernel command line`);
    const version = kernelVersion();
    const [kernel, initrd] = await Promise.all([vmlinux(version), initramfs(version)]);
    fs.mkdirSync(path.join(o.scratch, 'jobs'), { recursive: true });
    for (const f of ['ready', 'poweroff']) fs.rmSync(path.join(o.scratch, f), { force: true });
    fs.writeFileSync(path.join(o.scratch, 'guest.sh'), GUEST, { mode: 0o755 });
    const consoleLog = fs.createWriteStream(path.join(o.scratch, 'console.log'));
    const args = [
      ...['-accel', 'tcg', '-cpu', 'max', '-smp', String(o.cpus ?? 2), '-m', String(o.memoryMiB ?? 3072)],
      ...['-nodefaults', '-nic', 'none', '-no-reboot', '-display', 'none', '-monitor', 'none', '-serial', 'stdio'],
      ...['-bios', '/usr/share/qemu/qboot.rom', '-kernel', kernel, '-initrd', initrd],
      // krt_keep: the checkout stays visible even where it lives under /tmp or /run, which the
      // guest mounts afresh (a CI workspace may well be in /tmp).
      ...['-append', `console=ttyS0 quiet panic=-1 krt_scratch=${o.scratch} krt_keep=${repoRoot()}`],
      ...['-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap'],
      ...['-virtfs', `local,path=${o.scratch},mount_tag=scratch,security_model=none,multidevs=remap`],
    ];
    // Its own process group: stopping it never signals the caller.
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let tail = '';
    let partial = '';
    const onOutput = (chunk: Buffer): void => {
      consoleLog.write(chunk);
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-4000);
      const lines = (partial + text).split(/\r?\n/);
      partial = lines.pop()!;
      if (o.console) for (const line of lines) if (line.trim()) o.console(line);
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('exit', () => consoleLog.end());
    const vm = new Vm(o.scratch, child, 0);
    const deadline = Date.now() + (o.bootTimeoutMs ?? 120000);
    let exitCode: number | null | undefined;
    void vm.exited.then((c) => (exitCode = c));
    while (!fs.existsSync(path.join(o.scratch, 'ready'))) {
      if (exitCode !== undefined) throw new VmError(`the VM exited (${exitCode}) before it was ready; console:\n${tail}`);
      if (Date.now() > deadline) {
        await vm.kill();
        throw new VmError(`the VM was not ready after ${o.bootTimeoutMs ?? 120000} ms; console:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    (vm as { bootMs: number }).bootMs = Date.now() - started;
    return vm;
  }

  /** Attaches to a VM booted by another process (the lab's), given its scratch directory. */
  static attach(scratch: string): VmClient {
    return new VmClient(scratch);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs a shell script in the VM; resolves with its output and exit code. */
  run(script: string, o: { timeoutMs?: number; allowFail?: boolean } = {}): Promise<RunResult> {
    return runJob(
      this.scratch,
      `${process.pid}-${++this.seq}`,
      script,
      o,
      () => this.child.exitCode !== null || this.child.signalCode !== null,
    );
  }

  /** Powers the VM off (the runner ends, /init reboots, qemu exits); kills it if it does not. */
  async stop(timeoutMs = 20000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    fs.writeFileSync(path.join(this.scratch, 'poweroff'), '');
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!done) await this.kill();
  }

  private async kill(): Promise<void> {
    if (this.child.pid) killGroup(this.child.pid, 'SIGKILL');
    await this.exited;
  }

  /** Lets the caller exit while the VM runs on (the lab). */
  detach(): void {
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.child.unref();
  }
}

/** Runs jobs in a VM some other process booted. */
export class VmClient {
  private seq = 0;
  constructor(readonly scratch: string) {}

  get running(): boolean {
    return fs.existsSync(path.join(this.scratch, 'ready')) && !fs.existsSync(path.join(this.scratch, 'poweroff'));
  }

  run(script: string, o: { timeoutMs?: number; allowFail?: boolean } = {}): Promise<RunResult> {
    if (!this.running) return Promise.reject(new VmError(`no VM is running on ${this.scratch}`));
    return runJob(this.scratch, `${process.pid}-${++this.seq}`, script, o, () => false);
  }

  powerOff(): void {
    fs.writeFileSync(path.join(this.scratch, 'poweroff'), '');
  }
}

async function runJob(
  scratch: string,
  id: string,
  script: string,
  o: { timeoutMs?: number; allowFail?: boolean },
  gone: () => boolean,
): Promise<RunResult> {
  const jobs = path.join(scratch, 'jobs');
  const base = path.join(jobs, id);
  // Written aside and renamed: the runner never sees half a script.
  fs.writeFileSync(`${base}.tmp`, `${script}\n`);
  fs.renameSync(`${base}.tmp`, `${base}.sh`);
  const deadline = Date.now() + (o.timeoutMs ?? 600000);
  let delay = 20;
  while (!fs.existsSync(`${base}.rc`)) {
    if (gone()) throw new VmError(`the VM went away while running: ${script.slice(0, 200)}`);
    if (Date.now() > deadline) throw new VmError(`timed out after ${o.timeoutMs ?? 600000} ms in the VM: ${script.slice(0, 200)}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
  const result: RunResult = {
    code: Number(fs.readFileSync(`${base}.rc`, 'utf8').trim()),
    stdout: fs.readFileSync(`${base}.out`, 'utf8'),
    stderr: fs.readFileSync(`${base}.err`, 'utf8'),
  };
  for (const ext of ['run', 'out', 'err', 'rc']) fs.rmSync(`${base}.${ext}`, { force: true });
  if (result.code !== 0 && !o.allowFail)
    throw new VmError(`in the VM, exit ${result.code}: ${script.slice(0, 200)}\n${(result.stderr || result.stdout).trim().slice(0, 2000)}`);
  return result;
}
