/**
 * IPVS graceful termination (--ipvs-graceful-termination), as kube-router does it: a real server
 * whose endpoint went away from a service that stays is not deleted but set to weight 0, so it
 * takes no new connections and keeps the ones it has; it is deleted once it has none (active or
 * inactive) or when its period ends: the pod's terminationGracePeriodSeconds where the pod is
 * known, else --ipvs-graceful-period. A service that goes away takes its real servers at once.
 * The state is what is draining since when; the kernel table says the rest.
 */
import { hostPort } from '../../net';
import { ipvsKey, type IpvsService, type RealServer } from './ipvs';

/** "tcp:10.96.0.10:80 10.244.1.2:8080": one real server of one virtual server. */
export const realServerId = (service: string, r: Pick<RealServer, 'address' | 'port'>): string =>
  `${service} ${hostPort(r.address, r.port)}`;

/** Active plus inactive connections of each real server, by realServerId (from `ipvsadm -Ln`). */
export type Connections = ReadonlyMap<string, number>;

/** The terminationGracePeriodSeconds of the pod with this IP, when known. */
export type PodPeriod = (ip: string) => number | undefined;

interface Draining {
  service: string;
  realServer: RealServer;
  since: number;
  periodMs: number;
}

export interface DrainUpdate {
  /** What the table should hold: `want` plus the draining real servers at weight 0. */
  want: IpvsService[];
  /** Real servers that began draining this time. */
  started: string[];
  /** Real servers whose draining ended, and why. */
  ended: { id: string; why: 'no connections left' | 'grace period over' }[];
}

export class IpvsDrain {
  private draining = new Map<string, Draining>();

  constructor(
    private readonly defaultPeriodMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.draining.size;
  }

  /** Whether the table has real servers that `want` lacks under services it keeps (a draining one may start). */
  departing(have: readonly IpvsService[], want: readonly IpvsService[]): boolean {
    return this.size > 0 || this.gone(have, want).length > 0;
  }

  /**
   * One sync: starts draining what left `want`, ends what drained or ran out of time (`connections`
   * read from the kernel; a real server missing there is not counted as drained) and returns the
   * table to make. `podPeriod` gives the grace period of the pod with an IP, seconds, when known.
   */
  update(
    have: readonly IpvsService[],
    want: readonly IpvsService[],
    connections: Connections,
    podPeriod: PodPeriod = () => undefined,
  ): DrainUpdate {
    const now = this.now();
    const next = new Map<string, Draining>();
    const started: string[] = [];
    const ended: DrainUpdate['ended'] = [];
    for (const { service, realServer } of this.gone(have, want)) {
      const id = realServerId(service, realServer);
      let d = this.draining.get(id);
      if (!d) {
        const seconds = podPeriod(realServer.address);
        d = {
          service,
          realServer: { ...realServer, weight: 0 },
          since: now,
          periodMs: seconds !== undefined ? seconds * 1000 : this.defaultPeriodMs,
        };
      }
      if (connections.get(id) === 0) ended.push({ id, why: 'no connections left' });
      else if (now - d.since >= d.periodMs) ended.push({ id, why: 'grace period over' });
      else {
        if (!this.draining.has(id)) started.push(id);
        next.set(id, d);
      }
    }
    this.draining = next;
    return { want: this.keep(want), started, ended };
  }

  /** `want` with the real servers still draining, at weight 0 (also what the drift check compares with). */
  keep(want: readonly IpvsService[]): IpvsService[] {
    if (!this.size) return [...want];
    const byService = new Map<string, RealServer[]>();
    for (const d of this.draining.values()) byService.set(d.service, [...(byService.get(d.service) ?? []), d.realServer]);
    return want.map((w) => {
      const extra = byService.get(ipvsKey(w));
      if (!extra) return w;
      const wanted = new Set(w.realServers.map((r) => hostPort(r.address, r.port)));
      const more = extra.filter((r) => !wanted.has(hostPort(r.address, r.port)));
      return more.length ? { ...w, realServers: [...w.realServers, ...more] } : w;
    });
  }

  /** Real servers in the table, under a service `want` keeps, that `want` does not name. */
  private gone(have: readonly IpvsService[], want: readonly IpvsService[]): { service: string; realServer: RealServer }[] {
    const wantByKey = new Map(want.map((w) => [ipvsKey(w), w]));
    const out: { service: string; realServer: RealServer }[] = [];
    for (const h of have) {
      const service = ipvsKey(h);
      const w = wantByKey.get(service);
      if (!w) continue;
      const wanted = new Set(w.realServers.map((r) => hostPort(r.address, r.port)));
      for (const r of h.realServers) if (!wanted.has(hostPort(r.address, r.port))) out.push({ service, realServer: r });
    }
    return out;
  }
}
