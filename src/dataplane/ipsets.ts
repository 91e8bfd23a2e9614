/**
 * ipsets through `ipset restore` (there is no ipset package on npm). A set whose members differ
 * from the desired ones is replaced atomically: a temporary set is filled and swapped in, so
 * the MASQUERADE rule never sees a half-updated set. Members carry "timeout 0" and sets are
 * created with "timeout 0", as kube-router makes them (seed 001's `ipset list`). A hash:net member
 * may be "CIDR nomatch": an exception carved out of a larger member (network policy ipBlocks).
 */
import crypto from 'node:crypto';
import { run, type Runner } from '../util/exec';

export interface IpSetSpec {
  name: string;
  type: 'hash:ip' | 'hash:net' | 'hash:ip,port';
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

/** The members of each spec as a set, made once per spec (the drift check runs every second). */
const wantedMembers = new WeakMap<readonly string[], Set<string>>();
const wanted = (s: IpSetSpec): Set<string> => {
  let set = wantedMembers.get(s.members);
  if (!set) wantedMembers.set(s.members, (set = new Set(s.members)));
  return set;
};

/**
 * The specs whose sets in `ipset save` output differ from them (missing, flushed, a member added
 * or removed); all of them when the output could not be read. One pass, no sorting: thousands of
 * members are checked every second.
 */
export function differingSets(saved: string | undefined, specs: readonly IpSetSpec[]): IpSetSpec[] {
  if (saved === undefined) return [...specs];
  const want = new Map(specs.map((s) => [s.name, wanted(s)]));
  /** Wanted members seen per set; -1 once a member not wanted was seen. */
  const seen = new Map<string, number>();
  let at = 0;
  while (at < saved.length) {
    let end = saved.indexOf('\n', at);
    if (end < 0) end = saved.length;
    const isAdd = saved.startsWith('add ', at);
    if (isAdd || saved.startsWith('create ', at)) {
      /** The word starting at `from`, within this line. */
      const word = (from: number): string => {
        const space = saved.indexOf(' ', from);
        return saved.slice(from, space < 0 || space > end ? end : space);
      };
      const nameAt = at + (isAdd ? 4 : 7);
      const name = word(nameAt);
      const members = want.get(name);
      const n = seen.get(name) ?? 0;
      if (members && n >= 0) {
        // An exception in a hash:net set is a member flagged nomatch ("10.1.0.0/16 nomatch").
        const member = isAdd ? word(nameAt + name.length + 1) : '';
        const key = isAdd && saved.startsWith(' nomatch', end - 8) ? `${member} nomatch` : member;
        seen.set(name, !isAdd ? n : members.has(key) ? n + 1 : -1);
      }
    }
    at = end + 1;
  }
  return specs.filter((s) => seen.get(s.name) !== wanted(s).size);
}

export class IpSets {
  constructor(
    private readonly exec: Runner = run,
    private readonly ipset = 'ipset',
  ) {}

  /** `ipset save` output; undefined if ipset cannot be read. */
  private async saved(): Promise<string | undefined> {
    const r = await this.exec(this.ipset, ['save'], { allowFail: true });
    return r.code === 0 ? r.stdout : undefined;
  }

  /** Whether a set exists. */
  async exists(name: string): Promise<boolean> {
    return (await this.exec(this.ipset, ['list', '-n', name], { allowFail: true })).code === 0;
  }

  /** The specs whose sets differ from them (missing, flushed, members added or removed). */
  private async differing(specs: readonly IpSetSpec[]): Promise<IpSetSpec[]> {
    return differingSets(await this.saved(), specs);
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
    const saved = await this.saved();
    const changed = differingSets(saved, specs);
    const existing = new Set(saved === undefined ? [] : [...saved.matchAll(/^create (\S+)/gm)].map((m) => m[1]!));
    for (const s of changed) {
      const members = [...new Set(s.members)].sort();
      if (saved !== undefined && !existing.has(s.name)) {
        // A new set is filled before any rule names it: no swap needed.
        script.push(createLine(s.name, s), ...members.map((m) => `add ${s.name} ${m} timeout 0`));
        continue;
      }
      const tmp = tmpName(s.name);
      script.push(createLine(s.name, s), createLine(tmp, s), `flush ${tmp}`);
      for (const m of members) script.push(`add ${tmp} ${m} timeout 0`);
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
