/**
 * Drift repair from kernel events: one rtnetlink socket subscribed to link, address, route and
 * rule changes; each event is mapped to the loop that owns the object it touched, which then
 * reconciles (and so puts back what someone else changed) within milliseconds:
 * - kube-bridge (link, its addresses) -> setup; kube-dummy-if -> services; tun-* -> routes;
 * - a route of ours, or any route to a destination we route (someone added or replaced one) -> routes;
 * - a policy rule of ours or for our table -> routes.
 * Our own changes raise events too: they cost one more reconcile that finds nothing to do.
 * Dropped events (ENOBUFS) trigger every loop. `classify` is pure and tested on its own.
 */
import { formatIp } from '../../net';
import { createRtNetlink } from './netlink-lib';
import { hardenNetlinkSocket } from './netlink-opts';
import { BRIDGE } from './bridge';
import { DUMMY } from './dummy';
import { ROUTE_PROTOCOL, type RouteEchoes } from './routes';
import { OVERLAY_TABLE } from './rules';

export type Loop = 'setup' | 'routes' | 'services' | 'firewall';

/** The parts of a parsed rtnetlink message this looks at (the `netlink` package's shape). */
export interface KernelEvent {
  kind: string;
  data: { index?: number; protocol?: unknown; dstLen?: number; table?: unknown };
  attrs: { ifname?: string; dst?: Buffer; table?: unknown; protocol?: unknown };
}

export interface EventContext {
  /** Interface index -> name, as last seen. */
  names: ReadonlyMap<number, string>;
  /** Destinations (canonical prefixes) we route: any route event for them concerns us. */
  routeDsts: ReadonlySet<string>;
}

const isTunnel = (name: string | undefined): boolean => !!name && name.startsWith('tun-');

function loopOfLink(name: string | undefined): Loop | undefined {
  if (name === BRIDGE) return 'setup';
  if (name === DUMMY) return 'services';
  return isTunnel(name) ? 'routes' : undefined;
}

function routeDst(e: KernelEvent): string | undefined {
  const len = Number(e.data.dstLen ?? 0);
  if (!e.attrs.dst) return undefined;
  try {
    return `${formatIp(e.attrs.dst)}/${len}`;
  } catch {
    return undefined;
  }
}

/** Which loops must run for these events. */
export function classify(events: readonly KernelEvent[], ctx: EventContext): Set<Loop> {
  const loops = new Set<Loop>();
  for (const e of events) {
    if (e.kind === 'link') {
      const l = loopOfLink(e.attrs.ifname ?? (e.data.index !== undefined ? ctx.names.get(e.data.index) : undefined));
      if (l) loops.add(l);
    } else if (e.kind === 'address') {
      const l = e.data.index !== undefined ? loopOfLink(ctx.names.get(e.data.index)) : undefined;
      if (l && l !== 'routes') loops.add(l);
    } else if (e.kind === 'route') {
      const dst = routeDst(e);
      if (Number(e.data.protocol) === ROUTE_PROTOCOL || (dst && ctx.routeDsts.has(dst))) loops.add('routes');
    } else if (e.kind === 'rule') {
      const table = Number(e.attrs.table ?? e.data.table ?? 0);
      if (Number(e.attrs.protocol ?? 0) === ROUTE_PROTOCOL || table === OVERLAY_TABLE) loops.add('routes');
    }
  }
  return loops;
}

/** How long the echoes of our own route changes are waited for. */
const ECHO_MS = 2000;

/**
 * Drops the events of route changes we made ourselves (`echoes`: destination -> changes made,
 * consumed as their events arrive): installing thousands of routes must not run the routes
 * loop again for each. Events come in order, so someone deleting a route right after we added
 * it is still heard: our add's event consumes the expectation, theirs triggers.
 */
export function dropEchoes(events: readonly KernelEvent[], echoes: Map<string, number>): KernelEvent[] {
  if (echoes.size === 0) return [...events];
  return events.filter((e) => {
    if (e.kind !== 'route' || Number(e.data.protocol) !== ROUTE_PROTOCOL) return true;
    const dst = routeDst(e);
    const n = dst ? echoes.get(dst) : undefined;
    if (!dst || !n) return true;
    if (n === 1) echoes.delete(dst);
    else echoes.set(dst, n - 1);
    return false;
  });
}

/** Subscribes to the kernel's changes and calls `onLoops` with the loops to run. */
export class KernelWatch {
  private readonly names = new Map<number, string>();
  private routeDsts: ReadonlySet<string> = new Set();
  private readonly socket = createRtNetlink();
  /** Why the socket could not be made to survive receive overruns (see netlink-opts.ts), if it could not. */
  readonly unhardened: string | undefined;
  private readonly echoes = new Map<string, number>();
  private echoesUntil = 0;

  constructor(
    ipv6: boolean,
    private readonly onLoops: (loops: Set<Loop>) => void,
    onLost: (err: Error) => void,
  ) {
    const groups = [
      'LINK',
      'IPV4_IFADDR',
      'IPV4_ROUTE',
      'IPV4_RULE',
      ...(ipv6 ? (['IPV6_IFADDR', 'IPV6_ROUTE', 'IPV6_RULE'] as const) : []),
    ] as const;
    // A burst of events while we are busy overruns the receive queue; unhardened, that aborts the process.
    this.unhardened = hardenNetlinkSocket(this.socket.socket.address().port, 0);
    for (const g of groups) this.socket.addMembership(g);
    this.socket.on('message', (parts) => this.onMessage(parts as unknown as KernelEvent[]));
    // ENOBUFS: the kernel dropped events for us, so what changed is unknown; check everything.
    this.socket.socket.on('error', (err: Error) => {
      onLost(err);
      this.onLoops(new Set<Loop>(['setup', 'routes', 'services']));
    });
  }

  /** Interface names as a dump shows them (link events keep the map current afterwards). */
  setNames(links: readonly { index: number; name: string }[]): void {
    this.names.clear();
    for (const l of links) this.names.set(l.index, l.name);
  }

  /** The destinations the routes loop manages now. */
  setRouteDsts(dsts: ReadonlySet<string>): void {
    this.routeDsts = dsts;
  }

  /** Our own route changes: their events are not drift (see dropEchoes). */
  readonly routeEchoes: RouteEchoes = {
    expect: (dst) => {
      this.echoes.set(dst, (this.echoes.get(dst) ?? 0) + 1);
      this.echoesUntil = Date.now() + ECHO_MS;
    },
    // The kernel refused it: no event will come, and a later one for that route is someone else's.
    cancel: (dst) => {
      const n = this.echoes.get(dst) ?? 0;
      if (n <= 1) this.echoes.delete(dst);
      else this.echoes.set(dst, n - 1);
    },
  };

  private onMessage(parts: KernelEvent[]): void {
    for (const p of parts)
      if (p.kind === 'link' && p.data.index !== undefined && p.attrs.ifname) this.names.set(p.data.index, p.attrs.ifname);
    // Expectations whose event never came (a change that failed) expire.
    if (this.echoes.size && Date.now() > this.echoesUntil) this.echoes.clear();
    const loops = classify(dropEchoes(parts, this.echoes), { names: this.names, routeDsts: this.routeDsts });
    if (loops.size) this.onLoops(loops);
  }

  close(): void {
    this.socket.socket.close();
  }
}
