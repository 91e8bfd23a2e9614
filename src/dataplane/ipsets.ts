/**
 * ipsets through `ipset restore` (there is no ipset package on npm). A set whose members differ
 * from the desired ones is replaced atomically: a temporary set is filled and swapped in, so
 * the MASQUERADE rule never sees a half-updated set. Members carry "timeout 0" and sets are
 * created with "timeout 0", as kube-router makes them (seed 001's `ipset list`).
 */
import crypto from 'node:crypto';
import { run } from '../util/exec';

export interface IpSetSpec {
  name: string;
  type: 'hash:ip' | 'hash:net';
  family: 'inet' | 'inet6';
  members: readonly string[];
}

export const POD_SUBNETS = 'kube-router-pod-subnets';
export const NODE_IPS = 'kube-router-node-ips';
/** kube-router's naming of the IPv6 twins of its sets. */
export const v6Name = (name: string): string => `inet6:${name}`;

const createLine = (name: string, s: IpSetSpec): string => `create ${name} ${s.type} family ${s.family} hashsize 1024 maxelem 65536 timeout 0 -exist`;

export class IpSets {
  constructor(private readonly ipset = 'ipset') {}

  /** Members of a set, or undefined if it does not exist. */
  async members(name: string): Promise<string[] | undefined> {
    const r = await run(this.ipset, ['save', name], { allowFail: true });
    if (r.code !== 0) return undefined;
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith(`add ${name} `))
      .map((l) => l.split(' ')[2]!)
      .sort();
  }

  /**
   * Whether any set differs from its spec (missing, flushed, members added or removed): one
   * `ipset save` for all of them, cheap enough to run every second.
   */
  async drifted(specs: readonly IpSetSpec[]): Promise<boolean> {
    const r = await run(this.ipset, ['save'], { allowFail: true });
    if (r.code !== 0) return true;
    const have = new Map<string, string[]>();
    for (const line of r.stdout.split('\n')) {
      const [verb, name, member] = line.split(' ');
      if (verb === 'create' && name) have.set(name, []);
      else if (verb === 'add' && name && member) have.get(name)?.push(member);
    }
    return specs.some((s) => {
      const members = have.get(s.name);
      const want = [...new Set(s.members)].sort();
      return !members || members.length !== want.length || members.sort().some((m, i) => m !== want[i]);
    });
  }

  /** Makes every set hold exactly its members; returns the names of the sets it changed. */
  async reconcile(specs: readonly IpSetSpec[]): Promise<string[]> {
    const changed: string[] = [];
    const script: string[] = [];
    for (const s of specs) {
      const want = [...new Set(s.members)].sort();
      const have = await this.members(s.name);
      if (have && have.length === want.length && have.every((m, i) => m === want[i])) continue;
      changed.push(s.name);
      const tmp = `krt-tmp-${crypto.randomBytes(4).toString('hex')}`;
      script.push(createLine(s.name, s), createLine(tmp, s), `flush ${tmp}`);
      for (const m of want) script.push(`add ${tmp} ${m} timeout 0`);
      script.push(`swap ${tmp} ${s.name}`, `destroy ${tmp}`);
    }
    if (script.length) await run(this.ipset, ['restore'], { input: `${script.join('\n')}\n` });
    return changed;
  }

  /** Destroys sets (they must not be referenced by iptables rules any more). */
  async destroy(names: readonly string[]): Promise<void> {
    for (const n of names) await run(this.ipset, ['destroy', n], { allowFail: true });
  }
}
