/**
 * iptables rules through iptables-restore --noflush, in chains of our own: only chains the
 * input declares are flushed, so our chains are rewritten atomically and nobody else's rules are
 * touched. One jump into each chain is kept in place with -C / -I. Pod egress is the
 * MASQUERADE rule of seed 001, verbatim; FORWARD accepts pod traffic where a DROP policy
 * would stop it.
 */
import { run } from '../util/exec';
import { NODE_IPS, POD_SUBNETS, v6Name } from './ipsets';

export const NAT_CHAIN = 'KUBE-ROUTER-TS-POSTROUTING';
export const FORWARD_CHAIN = 'KUBE-ROUTER-TS-FORWARD';
const COMMENT = 'kube-router-ts';

export interface IptablesSettings {
  podEgress: boolean;
}

type Family = 4 | 6;
const tools = (f: Family) => (f === 4 ? { save: 'iptables-save', restore: 'iptables-restore', cmd: 'iptables' } : { save: 'ip6tables-save', restore: 'ip6tables-restore', cmd: 'ip6tables' });
const set = (name: string, f: Family): string => (f === 4 ? name : v6Name(name));

export function podEgressRule(f: Family): string {
  return `-m set --match-set ${set(POD_SUBNETS, f)} src -m set ! --match-set ${set(POD_SUBNETS, f)} dst -m set ! --match-set ${set(NODE_IPS, f)} dst -j MASQUERADE --random-fully`;
}

export function renderRules(f: Family, s: IptablesSettings): string {
  const lines = ['*nat', `:${NAT_CHAIN} - [0:0]`];
  if (s.podEgress) lines.push(`-A ${NAT_CHAIN} ${podEgressRule(f)}`);
  lines.push('COMMIT', '*filter', `:${FORWARD_CHAIN} - [0:0]`);
  lines.push(`-A ${FORWARD_CHAIN} -m set --match-set ${set(POD_SUBNETS, f)} src -j ACCEPT`);
  lines.push(`-A ${FORWARD_CHAIN} -m set --match-set ${set(POD_SUBNETS, f)} dst -j ACCEPT`);
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

const JUMPS: { table: string; chain: string; target: string }[] = [
  { table: 'nat', chain: 'POSTROUTING', target: NAT_CHAIN },
  { table: 'filter', chain: 'FORWARD', target: FORWARD_CHAIN },
];

export class Iptables {
  /** Writes our chains and makes sure the jumps into them exist, for each family in use. */
  async reconcile(families: readonly Family[], s: IptablesSettings): Promise<void> {
    for (const f of families) {
      const t = tools(f);
      await run(t.restore, ['--noflush', '--wait'], { input: renderRules(f, s) });
      for (const j of JUMPS) {
        const rule = ['-m', 'comment', '--comment', COMMENT, '-j', j.target];
        const exists = await run(t.cmd, ['-w', '-t', j.table, '-C', j.chain, ...rule], { allowFail: true });
        if (exists.code !== 0) await run(t.cmd, ['-w', '-t', j.table, '-I', j.chain, '1', ...rule]);
      }
    }
  }

  /** Removes our jumps and chains; returns what existed ("nat/KUBE-ROUTER-TS-POSTROUTING (IPv6)"). */
  async cleanup(families: readonly Family[]): Promise<string[]> {
    const removed: string[] = [];
    for (const f of families) {
      const t = tools(f);
      for (const j of JUMPS) {
        const rule = ['-m', 'comment', '--comment', COMMENT, '-j', j.target];
        while ((await run(t.cmd, ['-w', '-t', j.table, '-D', j.chain, ...rule], { allowFail: true })).code === 0);
        await run(t.cmd, ['-w', '-t', j.table, '-F', j.target], { allowFail: true });
        const deleted = await run(t.cmd, ['-w', '-t', j.table, '-X', j.target], { allowFail: true });
        if (deleted.code === 0) removed.push(`${j.table}/${j.target}${f === 6 ? ' (IPv6)' : ''}`);
      }
    }
    return removed;
  }
}
