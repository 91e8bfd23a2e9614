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

/** A set's temporary twin for the swap: a fixed name per set (at most 31 characters, as ipset allows). */
const tmpName = (name: string): string => `krt-tmp-${crypto.createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
/** Tries of a restore the kernel refused with EBUSY (a dump in progress), and the wait between. */
const BUSY_ATTEMPTS = 5;
const BUSY_RETRY_MS = 50;

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

/** The members of each spec as a set, made once per spec (the drift check runs every second). */
const wantedMembers = new WeakMap<readonly string[], Set<string>>();
const wanted = (s: IpSetSpec): Set<string> => {
  let set = wantedMembers.get(s.members);
  if (!set) wantedMembers.set(s.members, (set = new Set(s.members)));
  return set;
};

/**
 * Whether `ipset save` output differs from the specs (a set missing, a member added or
 * removed), read in one pass without sorting: thousands of members are checked every second.
 */
export function savedSetsDiffer(text: string, specs: readonly IpSetSpec[]): boolean {
  const want = new Map(specs.map((s) => [s.name, wanted(s)]));
  const counts = new Map<string, number>();
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const isAdd = text.startsWith('add ', at);
    if (isAdd || text.startsWith('create ', at)) {
      const nameAt = at + (isAdd ? 4 : 7);
      const nameEnd = text.indexOf(' ', nameAt);
      const name = text.slice(nameAt, nameEnd < 0 || nameEnd > end ? end : nameEnd);
      const members = want.get(name);
      if (members) {
        if (!isAdd) counts.set(name, counts.get(name) ?? 0);
        else {
          const memberEnd = text.indexOf(' ', nameEnd + 1);
          if (!members.has(text.slice(nameEnd + 1, memberEnd < 0 || memberEnd > end ? end : memberEnd))) return true;
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
      }
    }
    at = end + 1;
  }
  for (const [name, members] of want) if (counts.get(name) !== members.size) return true;
  return false;
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

  /**
   * Makes every set hold exactly its members; returns the names of the sets it changed. The
   * kernel refuses to swap or destroy a set while anyone dumps it (`ipset save`, as our drift
   * check and operators do; large sets take a while): such a restore is run again shortly, and
   * since each set's temporary twin has a fixed name, a half-done run leaves nothing behind.
   */
  async reconcile(specs: readonly IpSetSpec[]): Promise<string[]> {
    const script: string[] = [];
    const changed = await this.differing(specs);
    for (const s of changed) {
      const tmp = tmpName(s.name);
      script.push(createLine(s.name, s), createLine(tmp, s), `flush ${tmp}`);
      for (const m of [...new Set(s.members)].sort()) script.push(`add ${tmp} ${m} timeout 0`);
      script.push(`swap ${tmp} ${s.name}`, `destroy ${tmp}`);
    }
    if (!script.length) return [];
    const input = `${script.join('\n')}\n`;
    for (let attempt = 1; ; attempt++) {
      const r = await this.exec(this.ipset, ['restore'], { input, allowFail: true });
      if (r.code === 0) break;
      if (attempt >= BUSY_ATTEMPTS || !/resource busy/i.test(r.stderr))
        throw new Error(`ipset restore exited with ${r.code}: ${r.stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS * attempt));
    }
    return changed.map((s) => s.name);
  }

  /** Destroys sets (they must not be referenced by iptables rules any more). */
  async destroy(names: readonly string[]): Promise<void> {
    for (const n of names) await this.exec(this.ipset, ['destroy', n], { allowFail: true });
  }
}
