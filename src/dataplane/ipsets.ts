/**
 * ipsets through `ipset restore` (there is no ipset package on npm). A set whose members differ
 * from the desired ones is replaced atomically: a temporary set is filled and swapped in, so
 * the MASQUERADE rule never sees a half-updated set. Members carry "timeout 0" and sets are
 * created with "timeout 0", as kube-router makes them (seed 001's `ipset list`).
 */
import crypto from 'node:crypto';
import { run, type Runner } from '../util/exec';

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

const createLine = (name: string, s: IpSetSpec): string =>
  `create ${name} ${s.type} family ${s.family} hashsize 1024 maxelem 65536 timeout 0 -exist`;

/** `ipset save` output as set name -> members (sorted). */
export function parseIpsetSave(text: string): Map<string, string[]> {
  const sets = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [verb, name, member] = line.split(' ');
    if (verb === 'create' && name) sets.set(name, []);
    else if (verb === 'add' && name && member) sets.get(name)?.push(member);
  }
  for (const members of sets.values()) members.sort();
  return sets;
}

/** The specs whose sets in `have` differ from them; all of them when `have` could not be read. */
export function differingSets(have: ReadonlyMap<string, string[]> | undefined, specs: readonly IpSetSpec[]): IpSetSpec[] {
  return specs.filter((s) => {
    const members = have?.get(s.name);
    const want = [...new Set(s.members)].sort();
    return !members || members.length !== want.length || members.some((m, i) => m !== want[i]);
  });
}

export class IpSets {
  constructor(
    private readonly exec: Runner = run,
    private readonly ipset = 'ipset',
  ) {}

  /** Every set and its members (sorted), from one `ipset save`; undefined if ipset cannot be read. */
  private async all(): Promise<Map<string, string[]> | undefined> {
    const r = await this.exec(this.ipset, ['save'], { allowFail: true });
    return r.code === 0 ? parseIpsetSave(r.stdout) : undefined;
  }

  /** Members of a set, or undefined if it does not exist. */
  async members(name: string): Promise<string[] | undefined> {
    return (await this.all())?.get(name);
  }

  /** The specs whose sets differ from them (missing, flushed, members added or removed). */
  private async differing(specs: readonly IpSetSpec[]): Promise<IpSetSpec[]> {
    return differingSets(await this.all(), specs);
  }

  /** Whether any set differs from its spec: one `ipset save` for all of them. */
  async drifted(specs: readonly IpSetSpec[]): Promise<boolean> {
    return (await this.differing(specs)).length > 0;
  }

  /** Makes every set hold exactly its members; returns the names of the sets it changed. */
  async reconcile(specs: readonly IpSetSpec[]): Promise<string[]> {
    const script: string[] = [];
    const changed = await this.differing(specs);
    for (const s of changed) {
      const tmp = `krt-tmp-${crypto.randomBytes(4).toString('hex')}`;
      script.push(createLine(s.name, s), createLine(tmp, s), `flush ${tmp}`);
      for (const m of [...new Set(s.members)].sort()) script.push(`add ${tmp} ${m} timeout 0`);
      script.push(`swap ${tmp} ${s.name}`, `destroy ${tmp}`);
    }
    if (script.length) await this.exec(this.ipset, ['restore'], { input: `${script.join('\n')}\n` });
    return changed.map((s) => s.name);
  }

  /** Destroys sets (they must not be referenced by iptables rules any more). */
  async destroy(names: readonly string[]): Promise<void> {
    for (const n of names) await this.exec(this.ipset, ['destroy', n], { allowFail: true });
  }
}
