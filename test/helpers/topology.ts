/**
 * A test's private network: a switch namespace with a bridge, and hosts (namespaces) on it with
 * 10.0.0.N/24 and fd00::N/64. Namespace names carry a random tag so parallel test files and
 * leftovers of a crashed run never collide; `destroy` removes everything, also after failures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { Netns, Segment } from '../../lab/netns';

export const TEST_NETNS_PREFIX = 'krtt-';

export interface Host {
  ns: Netns;
  address: string;
  address6: string;
  /** A scratch directory for this host's files. */
  dir: string;
}

export class Topology {
  private readonly hosts: Host[] = [];

  private constructor(
    readonly tag: string,
    readonly segment: Segment,
    readonly dir: string,
  ) {}

  static async create(label: string): Promise<Topology> {
    const tag = `${TEST_NETNS_PREFIX}${crypto.randomBytes(3).toString('hex')}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-${label}-`));
    const segment = await Segment.create(`${tag}-sw`);
    return new Topology(tag, segment, dir);
  }

  /** Adds host number `n` (1..254) named `role`. */
  async host(role: string, n: number): Promise<Host> {
    const ns = await Netns.create(`${this.tag}-${role}`);
    const address = `10.0.0.${n}`;
    const address6 = `fd00::${n.toString(16)}`;
    await this.segment.join(ns, 'eth0', [`${address}/24`, `${address6}/64`]);
    const dir = path.join(this.dir, role);
    fs.mkdirSync(dir, { recursive: true });
    const host = { ns, address, address6, dir };
    this.hosts.push(host);
    return host;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.ns.destroy()));
    await this.segment.destroy();
    // The daemons that wrote here (configs, sockets, logs) are gone with their namespaces.
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
