/**
 * Policy routing rules reconciler: "from <pod CIDR> lookup 77" as kube-router sets up for the
 * overlay, so traffic from pods to a remote node's own IP also takes the tunnel, and "fwmark
 * MARK lookup 78" for DSR. Ours carry the protocol number of our routes; nobody else's rules
 * are touched, and each reconciler owns a kind (`owns`): the routes loop the source rules, the
 * services loop the mark rules.
 */
import type { Rtnl, Rule } from './rtnl';
import { ROUTE_PROTOCOL } from './routes';

/** kube-router's custom table for tunnel routes ("77 kube-router" in rt_tables). */
export const OVERLAY_TABLE = 77;

/** kube-router's table for DSR: "local default dev lo", looked up by the marked packets ("78 kube-router-dsr"). */
export const DSR_TABLE = 78;

export interface DesiredRule {
  family: 4 | 6;
  src?: string;
  fwmark?: number;
  table: number;
}

type RuleLike = Pick<Rule, 'family' | 'src' | 'fwmark' | 'table'>;
const ruleKey = (r: RuleLike): string => `${r.family} ${r.src ?? 'all'} ${r.fwmark ?? '-'} ${r.table}`;
const ruleText = (r: RuleLike): string =>
  `${r.fwmark !== undefined ? `fwmark 0x${r.fwmark.toString(16)}` : `from ${r.src ?? 'all'}`} lookup ${r.table}`;

/** The routes loop's rules (by source) and the services loop's (by mark). */
export const sourceRules = (r: RuleLike): boolean => r.fwmark === undefined;
export const markRules = (r: RuleLike): boolean => r.fwmark !== undefined;

export class RuleReconciler {
  constructor(
    private readonly rtnl: Rtnl,
    private readonly owns: (r: RuleLike) => boolean = sourceRules,
  ) {}

  async current(): Promise<Rule[]> {
    const all = [...(await this.rtnl.rules(4)), ...(await this.rtnl.rules(6))];
    return all.filter((r) => r.protocol === ROUTE_PROTOCOL && this.owns(r));
  }

  async reconcile(desired: readonly DesiredRule[]): Promise<{ added: string[]; removed: string[] }> {
    const have = await this.current();
    const haveKeys = new Set(have.map(ruleKey));
    const wantKeys = new Set(desired.map(ruleKey));
    const out = { added: [] as string[], removed: [] as string[] };
    for (const d of desired) {
      if (haveKeys.has(ruleKey(d))) continue;
      await this.rtnl.addRule({ ...d, protocol: ROUTE_PROTOCOL });
      out.added.push(ruleText(d));
    }
    for (const r of have) {
      if (wantKeys.has(ruleKey(r))) continue;
      await this.rtnl.deleteRule(r);
      out.removed.push(ruleText(r));
    }
    return out;
  }
}
