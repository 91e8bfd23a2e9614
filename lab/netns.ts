/**
 * Network namespaces as small hosts: create, run commands and processes inside, wire them to a
 * shared segment (a bridge in a "switch" namespace), and clean everything up. Interfaces are
 * created directly inside namespaces, never in the root namespace.
 */
import { ipFamily } from '../net';
import { spawn, ChildProcess, SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import { run, RunResult } from '../src/util/exec';

export class Netns {
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly name: string) {}

  /** Creates the namespace with loopback up. Fails if it exists. */
  static async create(name: string): Promise<Netns> {
    await run('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    await ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  static attach(name: string): Netns {
    return new Netns(name);
  }

  /** Runs a command inside the namespace. */
  exec(
    cmd: string,
    args: readonly string[] = [],
    opts: { allowFail?: boolean; input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ): Promise<RunResult> {
    // Lab commands may run long (pings, iperf3, scripts): no default timeout.
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], { timeout: 0, ...opts });
  }

  ip(...args: string[]): Promise<RunResult> {
    return run('ip', ['-n', this.name, ...args]);
  }

  sysctl(key: string, value: string): Promise<RunResult> {
    return this.exec('sysctl', ['-qw', `${key}=${value}`]);
  }

  /**
   * Starts a long-running process inside the namespace, in its own process group so that it and
   * its children can be stopped together. Output goes to `logFile` when given.
   */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions & { logFile?: string } = {}): ChildProcess {
    const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['ignore', out, out], detached: true, ...opts });
    if (typeof out === 'number') fs.closeSync(out);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** PIDs of every process whose network namespace is this one. */
  async pids(): Promise<number[]> {
    const r = await run('ip', ['netns', 'pids', this.name], { allowFail: true });
    return r.stdout.split(/\s+/).filter(Boolean).map(Number);
  }

  /**
   * Stops every process in the namespace and deletes it. One SIGTERM each, up to `graceMs` to
   * exit (a daemon sends its Cease, a profiler writes its file), then SIGKILL. Safe to repeat.
   */
  async destroy(graceMs = 2000): Promise<void> {
    for (const c of this.children) if (c.pid) killGroup(c.pid, 'SIGTERM');
    for (const pid of await this.pids()) kill(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    let pids = await this.pids();
    while (pids.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      pids = await this.pids();
    }
    for (const pid of pids) kill(pid, 'SIGKILL');
    for (let i = 0; i < 20 && (await this.pids()).length; i++) await new Promise((r) => setTimeout(r, 50));
    await run('ip', ['netns', 'del', this.name], { allowFail: true });
  }
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    kill(pid, signal);
  }
}

/** Names of existing namespaces, optionally only those starting with `prefix`. */
export async function listNetns(prefix = ''): Promise<string[]> {
  const r = await run('ip', ['netns', 'list'], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n && n.startsWith(prefix));
}

/**
 * A layer-2 segment: a bridge inside its own namespace. Hosts join it through a veth pair whose
 * host end is `ifname` inside the host's namespace.
 */
export class Segment {
  private ports = 0;

  private constructor(
    readonly ns: Netns,
    readonly bridge: string,
  ) {}

  static async create(nsName: string, bridge = 'br0'): Promise<Segment> {
    const ns = await Netns.create(nsName);
    await ns.ip('link', 'add', bridge, 'type', 'bridge');
    await ns.ip('link', 'set', bridge, 'up');
    return new Segment(ns, bridge);
  }

  /** An existing segment (e.g. a lab's, from another process). */
  static attach(nsName: string, bridge = 'br0'): Segment {
    return new Segment(Netns.attach(nsName), bridge);
  }

  /**
   * Connects a host; addresses are CIDRs ("10.0.0.1/24", "fd00::1/64"). `port` names the
   * switch side (at most 15 characters), needed when joining an attached segment.
   */
  async join(host: Netns, ifname: string, addresses: readonly string[], port = `p${++this.ports}`): Promise<void> {
    await this.ns.ip('link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'netns', host.name);
    await this.ns.ip('link', 'set', port, 'master', this.bridge);
    await this.ns.ip('link', 'set', port, 'up');
    for (const a of addresses) {
      // nodad: tests should not wait for IPv6 duplicate address detection.
      await host.ip('addr', 'add', a, 'dev', ifname, ...(ipFamily(a) === 6 ? ['nodad'] : []));
    }
    await host.ip('link', 'set', ifname, 'up');
  }

  destroy(): Promise<void> {
    return this.ns.destroy();
  }
}
