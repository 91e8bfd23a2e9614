/** Our speaker as a real process in a namespace, driven by its config file and admin socket. */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Netns } from '../../lab/netns';
import { adminRequest } from '../../bgp/admin/client';
import type { GlobalView, NeighborView, PathView } from '../../bgp/admin/views';
import { until } from '../../lab/wait';

export const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');

export class OurSpeaker {
  private child: ChildProcess | undefined;
  readonly socket: string;
  readonly configFile: string;
  readonly logFile: string;

  private constructor(
    readonly ns: Netns,
    readonly dir: string,
    private config: Record<string, unknown>,
  ) {
    this.socket = path.join(dir, 'admin.sock');
    this.configFile = path.join(dir, 'speaker.json');
    this.logFile = path.join(dir, 'speaker.log');
  }

  static async start(ns: Netns, dir: string, config: Record<string, unknown>): Promise<OurSpeaker> {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (the test command does)`);
    const s = new OurSpeaker(ns, dir, config);
    s.write();
    s.child = ns.spawn(process.execPath, [CLI, 'speaker', '--config', s.configFile, '--log-level', 'debug'], { logFile: s.logFile });
    await until(
      async () =>
        fs.existsSync(s.socket) &&
        (await s.global().then(
          () => true,
          () => false,
        )),
      15000,
      `admin socket ${s.socket} (log: ${s.logFile})`,
    );
    return s;
  }

  private write(): void {
    fs.writeFileSync(this.configFile, JSON.stringify({ ...this.config, adminSocket: this.socket }, null, 2));
  }

  /** Rewrites the config file and sends SIGHUP; the speaker applies the difference. */
  async reconfigure(change: (c: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
    this.config = change(structuredClone(this.config));
    this.write();
    this.child?.kill('SIGHUP');
  }

  /** The process is still running. */
  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get advertise(): string[] {
    return (this.config.advertise as string[] | undefined) ?? [];
  }

  global(): Promise<GlobalView> {
    return adminRequest(this.socket, 'GET', '/global');
  }

  neighbors(): Promise<NeighborView[]> {
    return adminRequest(this.socket, 'GET', '/neighbors');
  }

  async neighbor(address: string): Promise<NeighborView> {
    const n = (await this.neighbors()).find((x) => x.address === address);
    if (!n) throw new Error(`speaker has no neighbor ${address}`);
    return n;
  }

  rib(family?: 'ipv4-unicast' | 'ipv6-unicast'): Promise<PathView[]> {
    return adminRequest(this.socket, 'GET', `/rib${family ? `?family=${family}` : ''}`);
  }

  adjIn(address: string): Promise<PathView[]> {
    return adminRequest(this.socket, 'GET', `/neighbors/${address}/adj-in`);
  }

  refresh(address: string): Promise<{ refreshRequested: string[] }> {
    return adminRequest(this.socket, 'POST', `/neighbors/${address}/refresh`);
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
    clearTimeout(timer);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}
