/**
 * Routes reconciler: the kernel routes carrying our protocol number are exactly the desired
 * ones. Missing routes are added, changed ones replaced, extra ones deleted; nothing else in the
 * routing table is touched: a desired route whose destination already has a route of another
 * protocol (connected, static, DHCP, another daemon) is refused, never replaced or shadowed.
 * Idempotent: a second run with the same input changes nothing.
 */
import type { Rtnl, Route, RouteChange } from './rtnl';
import { MAIN_TABLE } from './rtnl';

/** Our rtnetlink protocol number (RTPROT_*): free in iproute2's rt_protos. */
export const ROUTE_PROTOCOL = 44;

/** /etc/iproute2/rt_protos names; ours (44) stays a number, as `ip route` shows it. */
const PROTOCOL_NAMES: Record<number, string> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  8: 'gated',
  9: 'ra',
  10: 'mrt',
  11: 'zebra',
  12: 'bird',
  13: 'dnrouted',
  14: 'xorp',
  15: 'ntk',
  16: 'dhcp',
  42: 'babel',
  186: 'bgp',
  187: 'isis',
  188: 'ospf',
  189: 'rip',
  192: 'eigrp',
};

export const protocolName = (n: number): string => PROTOCOL_NAMES[n] ?? String(n);

/**
 * kube-router's routes carry 0x11 (its "zebra originator"), and its --cleanup-config leaves them:
 * on a node switching over, ours take over those for the destinations we route, and only those.
 */
export const KUBE_ROUTER_PROTOCOL = 0x11;

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
  /** Desired routes not installed because a route of another protocol holds the destination. */
  refused: { dst: string; table: number; reason: string }[];
  /** Our routes in the kernel afterwards. */
  installed: number;
}

const keyOf = (dst: string, table: number): string => `${table} ${dst}`;

/** Who hears of our own route changes: told before each (its event may come before the answer), and of each that failed. */
export interface RouteEchoes {
  expect(dst: string): void;
  cancel(dst: string): void;
}

export class RouteReconciler {
  constructor(
    private readonly rtnl: Rtnl,
    private readonly protocol = ROUTE_PROTOCOL,
    /** Told of each route change we make (its kernel event is ours), and of those the kernel refused. */
    private readonly echoes: RouteEchoes = { expect: () => undefined, cancel: () => undefined },
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
    const current = new Map<string, Route>();
    const foreign = new Map<string, number>();
    for (const r of await this.rtnl.routes()) {
      if (r.protocol === this.protocol) current.set(keyOf(r.dst, r.table), r);
      else if (r.protocol !== KUBE_ROUTER_PROTOCOL) foreign.set(keyOf(r.dst, r.table), r.protocol);
    }
    const links = desired.some((d) => d.dev) ? new Map((await this.rtnl.links()).map((l) => [l.name, l.index])) : new Map<string, number>();
    const changes: RouteChanges = { added: [], replaced: [], removed: [], failed: [], refused: [], installed: 0 };
    // Every change goes to the kernel in one batched call; results come back per route.
    const batch: RouteChange[] = [];
    const existed: boolean[] = [];
    const want = new Set<string>();
    for (const d of desired) {
      const table = d.table ?? MAIN_TABLE;
      const key = keyOf(d.dst, table);
      const other = foreign.get(key);
      if (other !== undefined) {
        // Not ours to change; ours, if any, goes too (when pruning), so we never shadow it.
        changes.refused.push({
          dst: d.dst,
          table,
          reason: `a ${protocolName(other)} route to ${d.dst} exists${table === MAIN_TABLE ? '' : ` in table ${table}`}`,
        });
        continue;
      }
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
      batch.push({ op: 'replace', route: r });
      existed.push(have !== undefined);
    }
    for (const [key, r] of current) {
      if (want.has(key) || !prune) continue;
      batch.push({ op: 'delete', route: r });
      existed.push(true);
    }
    for (const c of batch) this.echoes.expect(c.route.dst);
    let results: (Error | undefined)[];
    try {
      results = await this.rtnl.changeRoutes(batch);
    } catch (e) {
      results = batch.map(() => e as Error);
    }
    batch.forEach((c, i) => {
      const err = results[i];
      if (err) {
        this.echoes.cancel(c.route.dst);
        changes.failed.push({ dst: c.route.dst, error: err.message });
      } else if (c.op === 'delete') changes.removed.push(c.route.dst);
      else (existed[i] ? changes.replaced : changes.added).push(c.route.dst);
    });
    changes.installed = current.size + changes.added.length - changes.removed.length;
    return changes;
  }
}
