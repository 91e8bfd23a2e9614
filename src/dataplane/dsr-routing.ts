/**
 * DSR's policy routing, as kube-router's: packets IPVS should take for a DSR address carry the
 * virtual server's firewall mark (mangle, iptables.ts); "fwmark MARK lookup 78" sends them to
 * table 78, whose "local default dev lo" delivers them to this host, where IPVS picks them up,
 * without the address being configured anywhere (it must not be: docs/dsr.md).
 */
import type { Runner } from '../util/exec';
import type { Rtnl } from './rtnl';
import { DSR_TABLE, markRules, RuleReconciler } from './rules';

export interface DsrRouting {
  /** Per family: the marks of its DSR virtual servers. */
  marks: { family: 4 | 6; fwmark: number }[];
}

export interface DsrRoutingChanges {
  rules: { added: string[]; removed: string[] };
  /** Families whose table 78 got (or lost) its local default route. */
  localAdded: (4 | 6)[];
  localRemoved: (4 | 6)[];
}

/** `ip -family F route`. */
const ipRoute = (f: 4 | 6): string[] => ['-family', f === 4 ? 'inet' : 'inet6', 'route'];

export class DsrRoutingReconciler {
  private readonly rules: RuleReconciler;
  /**
   * Whether each family's table 78 had its route after our last look: read once, then again
   * only where DSR is in use (so a run without DSR services forks nothing).
   */
  private readonly local = new Map<4 | 6, boolean>();

  constructor(
    rtnl: Rtnl,
    private readonly exec: Runner,
  ) {
    this.rules = new RuleReconciler(rtnl, markRules);
  }

  /** Whether table 78 of family `f` has its local default route. */
  private async hasLocal(f: 4 | 6): Promise<boolean> {
    const r = await this.exec('ip', [...ipRoute(f), 'show', 'table', String(DSR_TABLE), 'type', 'local'], { allowFail: true });
    const has = r.code === 0 && /^local default dev lo\b/m.test(r.stdout);
    this.local.set(f, has);
    return has;
  }

  async reconcile(want: DsrRouting): Promise<DsrRoutingChanges> {
    const families = new Set(want.marks.map((m) => m.family));
    const out: DsrRoutingChanges = { rules: { added: [], removed: [] }, localAdded: [], localRemoved: [] };
    // The route before the rules that lead to it; taken away after them.
    for (const f of [4, 6] as const) {
      if (!families.has(f) || (await this.hasLocal(f))) continue;
      await this.exec('ip', [...ipRoute(f), 'replace', 'local', 'default', 'dev', 'lo', 'table', String(DSR_TABLE)]);
      this.local.set(f, true);
      out.localAdded.push(f);
    }
    out.rules = await this.rules.reconcile(want.marks.map((m) => ({ family: m.family, fwmark: m.fwmark, table: DSR_TABLE })));
    for (const f of [4, 6] as const) {
      if (families.has(f) || this.local.get(f) === false || !(await this.hasLocal(f))) continue;
      await this.exec('ip', [...ipRoute(f), 'flush', 'table', String(DSR_TABLE)], { allowFail: true });
      this.local.set(f, false);
      out.localRemoved.push(f);
    }
    return out;
  }
}
