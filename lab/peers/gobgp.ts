/** GoBGP (gobgpd + gobgp CLI) in a namespace, one API socket per instance. */
import path from 'node:path';
import fs from 'node:fs';
import { run } from '../../src/util/exec';
import { SpawnedDaemon } from './spawned';
import { until } from '../wait';
import { afiOf, Afi, DaemonOptions, DaemonRoute, PeerDaemon } from './types';

interface GobgpAttr {
  type: number;
  value?: number;
  nexthop?: string;
  as_paths?: { segment_type: number; asns: number[] }[];
  metric?: number;
}

export class GobgpDaemon extends SpawnedDaemon implements PeerDaemon {
  readonly kind = 'gobgp';
  private readonly target: string;

  private constructor(readonly options: DaemonOptions) {
    super();
    this.target = `unix://${path.join(options.dir, 'gobgp.sock')}`;
  }

  static async start(options: DaemonOptions): Promise<GobgpDaemon> {
    const d = new GobgpDaemon(options);
    await d.launch([]);
    return d;
  }

  private async launch(extraArgs: string[]): Promise<void> {
    const o = this.options;
    const conf = path.join(o.dir, 'gobgpd.toml');
    fs.writeFileSync(conf, this.config());
    // A killed gobgpd leaves its API socket behind, and a new one cannot bind it.
    fs.rmSync(this.target.replace('unix://', ''), { force: true });
    this.child = o.ns.spawn('gobgpd', ['-f', conf, '-p', '--pprof-disable', '--api-hosts', this.target, ...extraArgs], {
      logFile: path.join(o.dir, 'gobgpd.log'),
    });
    // The API answers before the configuration file is applied: until then `global` shows AS 0
    // and adding a route fails with "bgp server hasn't started yet" (seen on a loaded CI machine).
    await until(
      () =>
        this.cli('global').then(
          (out) => /^AS:\s+[1-9]/m.test(out),
          () => false,
        ),
      10000,
      'gobgpd API with its configuration applied',
    );
    for (const r of o.routes ?? []) await this.announce(r);
  }

  /** Starts again (after crash()) announcing `routes`; -r sets the Restart State bit (RFC 4724). */
  async restart(routes: string[]): Promise<void> {
    (this as { options: DaemonOptions }).options = { ...this.options, routes };
    await this.launch(this.options.gracefulRestart ? ['-r'] : []);
  }

  /** Routes from the neighbour in GoBGP's RIB, stale ones included (adj-in empties when the session goes). */
  async held(afi: Afi): Promise<string[]> {
    const out = await this.cli('-j', 'global', 'rib', '-a', afi);
    const table = JSON.parse(out || '{}') as Record<string, { 'source-id'?: string; neighbor_ip?: string; 'neighbor-ip'?: string }[]>;
    return Object.entries(table)
      .filter(([, paths]) => paths.some((p) => (p['neighbor-ip'] ?? p.neighbor_ip) === this.options.neighbor.address))
      .map(([prefix]) => prefix);
  }

  private config(): string {
    const o = this.options;
    const n = o.neighbor;
    const gr = o.gracefulRestart;
    const family = (name: string) =>
      `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "${name}"\n` +
      (gr ? `    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n` : '');
    return `[global.config]
  as = ${o.asn}
  router-id = "${o.address}"
  port = 179
  local-address-list = ["${o.address}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.address}"
    peer-as = ${n.asn}
    ${n.password ? `auth-password = "${n.password}"` : ''}
  [neighbors.timers.config]
    connect-retry = 2
    hold-time = ${n.holdTime ?? 90}
    keepalive-interval = ${Math.max(1, Math.floor((n.holdTime ?? 90) / 3))}
${gr ? `  [neighbors.graceful-restart.config]\n    enabled = true\n    restart-time = ${gr}\n` : ''}  [neighbors.transport.config]
    local-address = "${o.address}"
    passive-mode = ${n.passive ? 'true' : 'false'}
${family('ipv4-unicast')}${family('ipv6-unicast')}`;
  }

  private cli(...args: string[]): Promise<string> {
    return run('gobgp', ['--target', this.target, ...args]).then((r) => r.stdout);
  }

  async established(): Promise<boolean> {
    const n = JSON.parse(await this.cli('-j', 'neighbor', this.options.neighbor.address)) as { state: { session_state: number } };
    // gobgp's API numbers states from 1 (idle); 6 is established.
    return n.state.session_state === 6;
  }

  async routes(afi: Afi): Promise<DaemonRoute[]> {
    const out = await this.cli('-j', 'neighbor', this.options.neighbor.address, 'adj-in', '-a', afi);
    const table = JSON.parse(out || '{}') as Record<string, { attrs: GobgpAttr[] }[]>;
    return Object.entries(table).map(([prefix, paths]) => toRoute(prefix, paths[0]!.attrs));
  }

  async announce(prefix: string): Promise<void> {
    const afi = afiOf(prefix);
    // IPv6 routes carry our IPv6 address as next hop; GoBGP would otherwise use an IPv4-mapped one.
    const a = this.options.attributes ?? {};
    const extra = [
      ...(a.med !== undefined ? ['med', String(a.med)] : []),
      ...(a.localPref !== undefined ? ['local-pref', String(a.localPref)] : []),
      ...(a.communities?.length ? ['community', a.communities.join(',')] : []),
      ...(a.largeCommunities?.length ? ['large-community', a.largeCommunities.join(',')] : []),
    ];
    await this.cli(
      'global',
      'rib',
      'add',
      '-a',
      afi,
      prefix,
      'origin',
      'igp',
      ...extra,
      ...(afi === 'ipv6' ? ['nexthop', this.options.address6] : []),
    );
  }

  async withdraw(prefix: string): Promise<void> {
    await this.cli('global', 'rib', 'del', '-a', afiOf(prefix), prefix);
  }

  async requestRefresh(): Promise<string> {
    // pkg/server/server.go softResetIn re-filters the kept Adj-RIB-In; no ROUTE-REFRESH goes out.
    return "GoBGP's soft reset in re-filters its own Adj-RIB-In and never sends ROUTE-REFRESH";
  }
}

function toRoute(prefix: string, attrs: GobgpAttr[]): DaemonRoute {
  const r: DaemonRoute = { prefix, nextHop: '', asPath: [], origin: '?' };
  for (const a of attrs) {
    if (a.type === 1) r.origin = a.value === 0 ? 'i' : a.value === 1 ? 'e' : '?';
    if (a.type === 2) r.asPath = (a.as_paths ?? []).flatMap((s) => s.asns);
    if ((a.type === 3 || a.type === 14) && a.nexthop) r.nextHop = a.nexthop;
    if (a.type === 4) r.med = a.metric ?? 0;
    if (a.type === 5) r.localPref = a.value ?? 0;
  }
  return r;
}
