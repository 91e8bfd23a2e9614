/**
 * Policy routing rules reconciler: "from <pod CIDR> lookup 77" as kube-router sets up for the
 * overlay, so traffic from pods to a remote node's own IP also takes the tunnel. Ours carry the
 * protocol number of our routes; nobody else's rules are touched.
 */
import type { Rtnl, Rule } from './rtnl';
import { ROUTE_PROTOCOL } from './routes';

/** kube-router's custom table for tunnel routes ("77 kube-router" in rt_tables). */
export const OVERLAY_TABLE = 77;

export interface DesiredRule {
  family: 4 | 6;
  src: string;
  table: number;
}

export class RuleReconciler {
  constructor(private readonly rtnl: Rtnl) {}

  async current(): Promise<Rule[]> {
    const all = [...(await this.rtnl.rules(4)), ...(await this.rtnl.rules(6))];
    return all.filter((r) => r.protocol === ROUTE_PROTOCOL);
  }

  async reconcile(desired: readonly DesiredRule[]): Promise<{ added: string[]; removed: string[] }> {
    const key = (r: { family: number; src?: string; table: number }): string => `${r.family} ${r.src ?? 'all'} ${r.table}`;
    const have = await this.current();
    const haveKeys = new Set(have.map(key));
    const wantKeys = new Set(desired.map(key));
    const out = { added: [] as string[], removed: [] as string[] };
    for (const d of desired) {
      if (haveKeys.has(key(d))) continue;
      await this.rtnl.addRule({ family: d.family, src: d.src, table: d.table, protocol: ROUTE_PROTOCOL });
      out.added.push(`from ${d.src} lookup ${d.table}`);
    }
    for (const r of have) {
      if (wantKeys.has(key(r))) continue;
      await this.rtnl.deleteRule(r);
      out.removed.push(`from ${r.src ?? 'all'} lookup ${r.table}`);
    }
    return out;
  }
}
