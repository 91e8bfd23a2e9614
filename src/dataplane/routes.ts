/**
 * Routes reconciler: the kernel routes carrying our protocol number are exactly the desired
 * ones. Missing routes are added, changed ones replaced, extra ones deleted; nothing else in the
 * routing table is touched. Idempotent: a second run with the same input changes nothing.
 */
import type { Rtnl, Route } from './rtnl';
import { MAIN_TABLE } from './rtnl';

/** Our rtnetlink protocol number (RTPROT_*): free in iproute2's rt_protos. */
export const ROUTE_PROTOCOL = 44;

export interface DesiredRoute {
  dst: string;
  gateway?: string;
  /** Interface name (a tunnel); resolved to an index when applying. */
  dev?: string;
  src?: string;
  table?: number;
}

export interface RouteChanges {
  added: string[];
  replaced: string[];
  removed: string[];
  /** Changes the kernel refused; the others are still made (one bad route blocks no other). */
  failed: { dst: string; error: string }[];
  /** Our routes in the kernel afterwards. */
  installed: number;
}

const keyOf = (dst: string, table: number): string => `${table} ${dst}`;

export class RouteReconciler {
  constructor(
    private readonly rtnl: Rtnl,
    private readonly protocol = ROUTE_PROTOCOL,
  ) {}

  /** Our routes as the kernel has them now. */
  current(): Promise<Route[]> {
    return this.rtnl.routes({ protocol: this.protocol });
  }

  /**
   * Makes our routes the desired ones. With `prune` false extra routes stay: after a restart,
   * routes from before it must survive until BGP has converged (graceful restart).
   */
  async reconcile(desired: readonly DesiredRoute[], prune = true): Promise<RouteChanges> {
    const current = new Map((await this.current()).map((r) => [keyOf(r.dst, r.table), r]));
    const links = desired.some((d) => d.dev) ? new Map((await this.rtnl.links()).map((l) => [l.name, l.index])) : new Map<string, number>();
    const changes: RouteChanges = { added: [], replaced: [], removed: [], failed: [], installed: 0 };
    const attempt = async (dst: string, fn: () => Promise<unknown>): Promise<boolean> => {
      try {
        await fn();
        return true;
      } catch (e) {
        changes.failed.push({ dst, error: (e as Error).message });
        return false;
      }
    };
    const want = new Set<string>();
    for (const d of desired) {
      const table = d.table ?? MAIN_TABLE;
      const key = keyOf(d.dst, table);
      want.add(key);
      const oif = d.dev ? links.get(d.dev) : undefined;
      const have = current.get(key);
      if (d.dev && oif === undefined) {
        changes.failed.push({ dst: d.dst, error: `no interface ${d.dev}` });
        continue;
      }
      if (have && have.gateway === d.gateway && (oif === undefined || have.oif === oif) && have.src === d.src) continue;
      const r: Route = { dst: d.dst, protocol: this.protocol, table };
      if (d.gateway) r.gateway = d.gateway;
      if (oif !== undefined) r.oif = oif;
      if (d.src) r.src = d.src;
      if (await attempt(d.dst, () => this.rtnl.replaceRoute(r))) (have ? changes.replaced : changes.added).push(d.dst);
    }
    for (const [key, r] of current) {
      if (want.has(key) || !prune) continue;
      if (await attempt(r.dst, () => this.rtnl.deleteRoute(r))) changes.removed.push(r.dst);
    }
    changes.installed = current.size + changes.added.length - changes.removed.length;
    return changes;
  }
}
