/**
 * The network policy firewall in the kernel: the sets of netpol.ts through `ipset restore`, then
 * each family's chains through one `iptables-restore --noflush` transaction (chains no longer
 * wanted are emptied and deleted in it), the jumps from INPUT and OUTPUT (FORWARD's is the
 * setup chain's first rule, so pod traffic is judged before it is accepted), and last the sets
 * no rule names any more. What it wrote is read back as the reference for drift checks.
 */
import type { Runner } from '../util/exec';
import { deleteJump, ensureJump, iptablesTools, ourLines, WAIT, type Jump } from './iptables';
import type { IpSets, IpSetSpec } from './ipsets';
import {
  KNOWN_PODS,
  NP_CHAIN_PREFIX,
  NP_FORWARD,
  NP_INPUT,
  NP_OUTPUT,
  NP_SET_PREFIX,
  restoreInput,
  type Family,
  type FirewallRender,
} from './netpol';

const JUMPS: Jump[] = [
  { table: 'filter', chain: 'INPUT', target: NP_INPUT },
  { table: 'filter', chain: 'OUTPUT', target: NP_OUTPUT },
];
const FORWARD_JUMP: Jump = { table: 'filter', chain: 'FORWARD', target: NP_FORWARD };

/** Whether a line of `iptables-save` (family-prefixed or not) is the firewall's: in its chains, or a jump into them from a built-in chain. */
export function isFirewallLine(line: string): boolean {
  const m = /^(?:\d )?(?:-A |:)(\S+)/.exec(line);
  if (!m) return false;
  const chain = m[1]!;
  return chain.startsWith(NP_CHAIN_PREFIX) || (!chain.startsWith('KUBE-ROUTER-TS-') && line.includes(`-j ${NP_CHAIN_PREFIX}`));
}

/** A rule in one of the firewall's chains (not a jump to them, not a chain declaration). */
const isFirewallRule = (line: string): boolean => /^(?:\d )?-A (\S+)/.exec(line)?.[1]?.startsWith(NP_CHAIN_PREFIX) === true;

/** Names of the firewall's chains in one family's `iptables-save` output. */
const chainsIn = (save: string): string[] =>
  save
    .split('\n')
    .filter((l) => l.startsWith(`:${NP_CHAIN_PREFIX}`))
    .map((l) => l.slice(1).split(' ')[0]!);

export interface FirewallDesired {
  families: readonly Family[];
  render: FirewallRender;
  /** Jump from FORWARD ourselves (when no setup chain does: the agent routes nothing). */
  forwardJump: boolean;
  /** --use-nftables-for-netpol: the same firewall as nftables tables (firewall-nft.ts) instead. */
  nftables?: boolean;
}

/** Whether two read-backs hold the same lines in the same order. */
export const sameLines = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((l, i) => l === b[i]);

/**
 * Writes, reads back and returns the lines read once they hold as many rules as were written.
 * Read after the write, the kernel may already hold someone else's change (a chain flushed
 * meanwhile): recorded as ours, it would be the reference every later check compares with, and
 * never repaired. Three tries, then an error (the caller's loop retries with its backoff).
 */
export async function writeAndReadBack(o: {
  write: () => Promise<void>;
  readBack: () => Promise<string[]>;
  /** Rules in the lines read back. */
  rules: (lines: readonly string[]) => number;
  wrote: number;
  /** What was written, for the error. */
  what: string;
}): Promise<string[]> {
  let read = -1;
  for (let attempt = 0; attempt < 3; attempt++) {
    await o.write();
    const lines = await o.readBack();
    read = o.rules(lines);
    if (read === o.wrote) return lines;
  }
  throw new Error(`${o.what} changed while they were written (${read} rules read back of ${o.wrote}), 3 times`);
}

export interface FirewallResult {
  /** Our lines as read back (family-prefixed, sorted); undefined if changed before they could be read. */
  lines: string[] | undefined;
  /** Whether anything was written (false: the same input again, and the kernel still held it). */
  written: boolean;
  setsChanged: string[];
  ipsetMs: number;
  iptablesMs: number;
}

export class Firewall {
  private last: { input: string; lines: string[] } | undefined;

  constructor(
    private readonly exec: Runner,
    private readonly ipsets: IpSets,
  ) {}

  private async save(f: Family): Promise<string> {
    return (await this.exec(iptablesTools(f).save, ['-t', 'filter'], { allowFail: true })).stdout;
  }

  private async readBack(families: readonly Family[]): Promise<string[]> {
    const out: string[] = [];
    for (const f of families) out.push(...ourLines(f, await this.save(f)).filter(isFirewallLine));
    return out.sort();
  }

  async reconcile(d: FirewallDesired): Promise<FirewallResult> {
    const t0 = Date.now();
    // The known-pods set (--netpol-default-deny) changes after the chains: a pod counts as known
    // only once its firewall is written. A set missing yet is made at once (rules name it).
    const known = d.render.sets.filter((x) => x.name.startsWith(KNOWN_PODS));
    const later: IpSetSpec[] = [];
    for (const x of known) if (await this.ipsets.exists(x.name)) later.push(x);
    const setsChanged = await this.ipsets.reconcile(d.render.sets.filter((x) => !later.includes(x)));
    const ipsetMs = Date.now() - t0;
    const knownLater = async (): Promise<void> => {
      if (later.length) setsChanged.push(...(await this.ipsets.reconcile(later)));
    };
    const input = JSON.stringify([d.families, d.forwardJump, ...d.families.map((f) => d.render.families[f])]);
    if (this.last?.input === input) {
      const now = await this.readBack(d.families);
      if (sameLines(now, this.last.lines)) {
        await knownLater();
        return { lines: this.last.lines, written: false, setsChanged, ipsetMs, iptablesMs: 0 };
      }
    }
    const t1 = Date.now();
    let iptablesMs = 0;
    this.last = undefined;
    const lines = await writeAndReadBack({
      write: async () => {
        for (const f of d.families) {
          const r = d.render.families[f];
          const want = new Set(r.chains);
          const stale = chainsIn(await this.save(f)).filter((c) => !want.has(c));
          await this.exec(iptablesTools(f).restore, ['--noflush', '--wait', WAIT], { input: restoreInput(r, stale) });
          for (const j of [...JUMPS, ...(d.forwardJump ? [FORWARD_JUMP] : [])]) await ensureJump(this.exec, f, j);
        }
        iptablesMs = Date.now() - t1;
        await knownLater();
        await this.destroyStaleSets(new Set(d.render.sets.map((s) => s.name)));
      },
      readBack: () => this.readBack(d.families),
      rules: (read) => read.filter(isFirewallRule).length,
      wrote: d.families.reduce((n, f) => n + d.render.families[f].rules.length, 0),
      what: "the firewall's chains",
    });
    this.last = { input, lines };
    return { lines, written: true, setsChanged, ipsetMs, iptablesMs };
  }

  /** Our sets that no rule names any more. */
  private async destroyStaleSets(keep: ReadonlySet<string>): Promise<void> {
    const names = (await this.exec('ipset', ['list', '-n'], { allowFail: true })).stdout.split('\n');
    await this.ipsets.destroy(names.filter((n) => n.startsWith(NP_SET_PREFIX) && !keep.has(n)));
  }

  /** Removes the jumps, chains and sets of the firewall; says what was there. */
  async cleanup(families: readonly Family[]): Promise<string[]> {
    const removed: string[] = [];
    for (const f of families) {
      const t = iptablesTools(f);
      const save = await this.save(f);
      for (const j of [...JUMPS, FORWARD_JUMP]) await deleteJump(this.exec, f, j);
      const chains = chainsIn(save);
      if (chains.length === 0) continue;
      const input = ['*filter', ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
      // Refused as a whole when someone else's rule still jumps into one of them: said, not hidden.
      await this.exec(t.restore, ['--noflush', '--wait', WAIT], { input });
      removed.push(`firewall chains${f === 6 ? ' (IPv6)' : ''}: ${chains.length}`);
    }
    this.last = undefined;
    const sets = (await this.exec('ipset', ['list', '-n'], { allowFail: true })).stdout
      .split('\n')
      .filter((n) => n.startsWith(NP_SET_PREFIX));
    await this.ipsets.destroy(sets);
    if (sets.length) removed.push(`firewall ipsets: ${sets.length}`);
    return removed;
  }
}
