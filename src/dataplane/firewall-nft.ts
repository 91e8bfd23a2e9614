/**
 * The network policy firewall in nftables (--use-nftables-for-netpol): each family's table of
 * netpol-nft.ts replaced in one `nft -f` transaction, sets and chains together, the table of a
 * family not run deleted. What it wrote is read back (`nft list table`) as the reference for
 * drift checks, as firewall.ts does with iptables-save.
 */
import type { Runner } from '../util/exec';
import { sameLines, writeAndReadBack, type FirewallDesired, type FirewallResult } from './firewall';
import { NFT_TABLES, nftRuleset } from './netpol-nft';
import type { Family } from './netpol';

/** The command that lists a family's table (also run by the drift check's shell). */
export const nftListCommand = (f: Family): string[] => ['nft', 'list', 'table', NFT_TABLES[f].family, NFT_TABLES[f].name];

/** A table listing as lines, family-prefixed so both families compare as one list. */
export const nftLines = (f: Family, listing: string): string[] =>
  listing
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => `${f} ${l}`);

/**
 * Rules in a table's lines, trimmed, of a listing or of our own input: what a flushed or deleted
 * chain, or a rule added, changes. Set elements are not counted (a listing merges intervals).
 */
export function nftRuleCount(lines: readonly string[]): number {
  let inChain = false;
  let n = 0;
  for (const l of lines) {
    if (l.startsWith('chain ') && l.endsWith('{')) inChain = true;
    else if (l === '}') inChain = false;
    else if (inChain && !l.startsWith('type ')) n++;
  }
  return n;
}

export class NftFirewall {
  private last: { input: string; lines: string[] } | undefined;

  constructor(private readonly exec: Runner) {}

  /** A family's table as lines; none when it does not exist. */
  private async readBack(families: readonly Family[]): Promise<string[]> {
    const out: string[] = [];
    for (const f of families) {
      const [cmd, ...args] = nftListCommand(f);
      const r = await this.exec(cmd!, args, { allowFail: true });
      if (r.code === 0) out.push(...nftLines(f, r.stdout));
    }
    return out;
  }

  async reconcile(d: FirewallDesired): Promise<FirewallResult> {
    const input = d.families.map((f) => nftRuleset(d.render, f)).join('');
    if (this.last?.input === input) {
      const now = await this.readBack(d.families);
      if (sameLines(now, this.last.lines)) return { lines: this.last.lines, written: false, setsChanged: [], ipsetMs: 0, iptablesMs: 0 };
    }
    const t0 = Date.now();
    this.last = undefined;
    const lines = await writeAndReadBack({
      write: async () => {
        await this.exec('nft', ['-f', '-'], { input });
        await this.remove(([4, 6] as const).filter((f) => !d.families.includes(f)));
      },
      readBack: () => this.readBack(d.families),
      rules: (read) => nftRuleCount(read.map((l) => l.slice(2))),
      wrote: nftRuleCount(input.split('\n').map((l) => l.trim())),
      what: "the firewall's nftables tables",
    });
    this.last = { input, lines };
    return { lines, written: true, setsChanged: [], ipsetMs: 0, iptablesMs: Date.now() - t0 };
  }

  /** Deletes the tables of these families that exist; says which. */
  private async remove(families: readonly Family[]): Promise<string[]> {
    const removed: string[] = [];
    for (const f of families) {
      const { family, name } = NFT_TABLES[f];
      const r = await this.exec('nft', ['delete', 'table', family, name], { allowFail: true });
      if (r.code === 0) removed.push(`nftables table ${family} ${name}`);
    }
    return removed;
  }

  /** Removes the firewall's tables; a host without nft has none. */
  async cleanup(families: readonly Family[]): Promise<string[]> {
    this.last = undefined;
    return this.remove(families).catch((e: Error) => {
      if (/command not found/.test(e.message)) return [];
      throw e;
    });
  }
}
