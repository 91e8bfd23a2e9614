/**
 * FRR's bgpd alone (-Z: no zebra, so it installs nothing) in a namespace, with its own vty socket
 * directory and pid file; configured and queried through vtysh.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../src/util/exec';
import { SpawnedDaemon } from './spawned';
import { until } from '../wait';
import { afiOf, Afi, DaemonOptions, DaemonRoute, PeerDaemon } from './types';

export const BGPD = '/usr/lib/frr/bgpd';

interface FrrPath {
  peerId?: string;
  path?: string;
  origin?: string;
  nexthops?: { ip: string; scope?: string }[];
  locPrf?: number;
  metric?: number;
}

export class FrrDaemon extends SpawnedDaemon implements PeerDaemon {
  readonly kind = 'frr';
  private readonly vty: string;

  private constructor(readonly options: DaemonOptions) {
    super();
    this.vty = path.join(options.dir, 'vty');
  }

  static async start(options: DaemonOptions): Promise<FrrDaemon> {
    const d = new FrrDaemon(options);
    fs.mkdirSync(d.vty, { recursive: true });
    await d.launch();
    return d;
  }

  private async launch(): Promise<void> {
    const o = this.options;
    const conf = path.join(o.dir, 'bgpd.conf');
    fs.writeFileSync(conf, this.config());
    // -S: run as root without privilege changes; -P 0: no TCP vty port.
    this.child = o.ns.spawn(
      BGPD,
      ['-Z', '-S', '-P', '0', '-l', o.address, '-f', conf, '-i', path.join(o.dir, 'bgpd.pid'), '--vty_socket', this.vty],
      { logFile: path.join(o.dir, 'bgpd.out') },
    );
    await until(
      () =>
        this.vtysh('show bgp summary').then(
          () => true,
          () => false,
        ),
      15000,
      'FRR vty',
    );
  }

  /** Starts again (after crash()) announcing `routes`, with the same configuration otherwise. */
  async restart(routes: string[]): Promise<void> {
    (this as { options: DaemonOptions }).options = { ...this.options, routes };
    await this.launch();
  }

  private config(): string {
    const o = this.options;
    const n = o.neighbor;
    const hold = n.holdTime ?? 90;
    const a = o.attributes ?? {};
    const sets = [
      a.med !== undefined ? ` set metric ${a.med}` : '',
      a.localPref !== undefined ? ` set local-preference ${a.localPref}` : '',
      a.communities?.length ? ` set community ${a.communities.join(' ')}` : '',
      a.largeCommunities?.length ? ` set large-community ${a.largeCommunities.join(' ')}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    const nets = (afi: Afi) =>
      (o.routes ?? [])
        .filter((r) => afiOf(r) === afi)
        .map((r) => `  network ${r}`)
        .join('\n');
    const rr = o.routeReflector;
    // The neighbour, and with routeReflector more clients like it (iBGP, no password).
    const peers = [n, ...(rr?.extraClients ?? []).map((address) => ({ ...n, address, asn: o.asn, password: undefined }))];
    const session = (p: typeof n): string =>
      [
        ` neighbor ${p.address} remote-as ${p.asn}`,
        ` neighbor ${p.address} timers connect 2`,
        ` neighbor ${p.address} timers ${Math.max(1, Math.floor(hold / 3))} ${hold}`,
        p.passive ? ` neighbor ${p.address} passive` : '',
        p.password ? ` neighbor ${p.address} password ${p.password}` : '',
      ]
        .filter(Boolean)
        .join('\n');
    const activate = (afi: Afi, p: typeof n): string =>
      [
        `  neighbor ${p.address} activate`,
        rr ? `  neighbor ${p.address} route-reflector-client` : '',
        afi === 'ipv6' ? `  neighbor ${p.address} route-map V6NH out` : sets ? `  neighbor ${p.address} route-map ATTRS out` : '',
      ]
        .filter(Boolean)
        .join('\n');
    const family = (afi: Afi): string =>
      ` address-family ${afi} unicast\n${nets(afi)}\n${peers.map((p) => activate(afi, p)).join('\n')}\n exit-address-family`;
    return `frr defaults traditional
hostname frr-${o.address}
log file ${path.join(o.dir, 'bgpd.log')} debugging
debug bgp neighbor-events
debug bgp updates

router bgp ${o.asn}
 bgp router-id ${o.address}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
${rr ? ` bgp cluster-id ${rr.clusterId}\n` : ''}${o.gracefulRestart ? ` bgp graceful-restart\n bgp graceful-restart preserve-fw-state\n bgp graceful-restart restart-time ${o.gracefulRestart}\n` : ''}${peers.map(session).join('\n')}
${family('ipv4')}
${family('ipv6')}
!
! Without zebra bgpd knows no interface addresses: name the IPv6 next hop.
route-map V6NH permit 10
 set ipv6 next-hop global ${o.address6}
${sets}
!
route-map ATTRS permit 10
${sets}
!
`;
  }

  private vtysh(...commands: string[]): Promise<string> {
    return run('vtysh', ['--vty_socket', this.vty, '-d', 'bgpd', ...commands.flatMap((c) => ['-c', c])]).then((r) => r.stdout);
  }

  async established(): Promise<boolean> {
    const out = JSON.parse(await this.vtysh(`show bgp neighbors ${this.options.neighbor.address} json`)) as Record<
      string,
      { bgpState?: string }
    >;
    return out[this.options.neighbor.address]?.bgpState === 'Established';
  }

  async routes(afi: Afi): Promise<DaemonRoute[]> {
    const out = JSON.parse(await this.vtysh(`show bgp ${afi} unicast json`)) as { routes?: Record<string, FrrPath[]> };
    const routes: DaemonRoute[] = [];
    for (const [prefix, paths] of Object.entries(out.routes ?? {})) {
      for (const p of paths) {
        if (p.peerId !== this.options.neighbor.address) continue;
        const r: DaemonRoute = {
          prefix,
          nextHop: p.nexthops?.find((n) => n.scope !== 'link-local')?.ip ?? '',
          asPath: (p.path ?? '').split(/\s+/).filter(Boolean).map(Number),
          origin: p.origin === 'IGP' ? 'i' : p.origin === 'EGP' ? 'e' : '?',
        };
        if (p.locPrf !== undefined) r.localPref = p.locPrf;
        if (p.metric !== undefined) r.med = p.metric;
        routes.push(r);
      }
    }
    return routes;
  }

  private network(prefix: string, add: boolean): Promise<string> {
    return this.vtysh(
      'configure terminal',
      `router bgp ${this.options.asn}`,
      `address-family ${afiOf(prefix)} unicast`,
      `${add ? '' : 'no '}network ${prefix}`,
    );
  }

  async announce(prefix: string): Promise<void> {
    await this.network(prefix, true);
  }

  async withdraw(prefix: string): Promise<void> {
    await this.network(prefix, false);
  }

  async requestRefresh(): Promise<undefined> {
    await this.vtysh(`clear bgp ${this.options.neighbor.address} soft in`);
  }
}
