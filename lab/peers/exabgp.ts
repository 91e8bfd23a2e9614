/**
 * ExaBGP in a namespace. Routes go in through its process API (a FIFO read by exabgp-api.py);
 * what it receives comes back as JSON events, replayed here into a table of learned routes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../src/util/exec';
import { SpawnedDaemon } from './spawned';
import { until, sleep } from '../wait';
import { repoRoot } from '../repo';
import { afiOf, Afi, DaemonOptions, DaemonRoute, PeerDaemon } from './types';

const API_SCRIPT = path.join(repoRoot(), 'lab/peers/exabgp-api.py');

interface ExaEvent {
  type: string;
  neighbor?: {
    state?: string;
    message?: {
      update?: {
        attribute?: { origin?: string; 'as-path'?: number[]; 'local-preference'?: number; med?: number };
        announce?: Record<string, Record<string, { nlri: string }[]>>;
        withdraw?: Record<string, { nlri: string }[]>;
      };
    };
  };
}

export class ExabgpDaemon extends SpawnedDaemon implements PeerDaemon {
  readonly kind = 'exabgp';
  private readonly fifo: string;
  private readonly events: string;
  private paused = false;

  private constructor(readonly options: DaemonOptions) {
    super();
    this.fifo = path.join(options.dir, 'commands.fifo');
    this.events = path.join(options.dir, 'events.jsonl');
  }

  static async start(options: DaemonOptions): Promise<ExabgpDaemon> {
    const d = new ExabgpDaemon(options);
    await run('mkfifo', [d.fifo]);
    fs.writeFileSync(d.events, '');
    const conf = path.join(options.dir, 'exabgp.conf');
    fs.writeFileSync(conf, d.config());
    d.child = options.ns.spawn('exabgp', [conf], {
      logFile: path.join(options.dir, 'exabgp.out'),
      env: {
        ...process.env,
        'exabgp.daemon.user': 'root',
        'exabgp.api.cli': 'false',
        'exabgp.log.destination': path.join(options.dir, 'exabgp.log'),
        // Listen for neighbors that connect to us; prompt reactions (LAB-NOTES).
        'exabgp.tcp.bind': options.address,
        'exabgp.tcp.port': '179',
        'exabgp.reactor.speed': '0.1',
      },
    });
    await until(
      () => fs.readFileSync(path.join(options.dir, 'exabgp.out'), { flag: 'a+' }).toString().includes('loaded new configuration'),
      15000,
      'ExaBGP started',
    );
    for (const r of options.routes ?? []) await d.announce(r);
    return d;
  }

  private config(): string {
    const o = this.options;
    const n = o.neighbor;
    return `process api {
  run /usr/bin/python3 -u ${API_SCRIPT} ${this.fifo} ${this.events};
  encoder json;
}
neighbor ${n.address} {
  router-id ${o.address};
  local-address ${o.address};
  local-as ${o.asn};
  peer-as ${n.asn};
  hold-time ${n.holdTime ?? 90};
  passive ${n.passive ? 'true' : 'false'};
  ${n.password ? `md5-password ${n.password};` : ''}
  adj-rib-out true;
  family { ipv4 unicast; ipv6 unicast; }
  capability { route-refresh;${o.noAs4 ? ' asn4 disable;' : ''} }
  api {
    processes [ api ];
    receive { parsed; update; notification; }
    neighbor-changes;
  }
}
`;
  }

  /**
   * Writes one command to the API FIFO. Opened non-blocking: with no reader (the API process
   * between two reads, or dead) the open fails instead of freezing the test's event loop.
   */
  private async command(line: string): Promise<void> {
    if (this.paused) throw new Error('ExaBGP is paused; its API would not read the command');
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = fs.openSync(this.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        try {
          fs.writeSync(fd, `${line}\n`);
        } finally {
          fs.closeSync(fd);
        }
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENXIO' || attempt > 100)
          throw new Error(`ExaBGP API FIFO ${this.fifo}: ${(e as Error).message}`);
        await sleep(50);
      }
    }
  }

  private replay(): { up: boolean; routes: Map<string, DaemonRoute> } {
    let up = false;
    const routes = new Map<string, DaemonRoute>();
    for (const line of fs.readFileSync(this.events, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      let e: ExaEvent;
      try {
        e = JSON.parse(line) as ExaEvent;
      } catch {
        // ExaBGP 4.2 writes some events (route-refresh) as invalid JSON; none of them matter here.
        continue;
      }
      if (e.type === 'state') {
        up = e.neighbor?.state === 'up';
        if (!up) routes.clear();
      }
      const u = e.neighbor?.message?.update;
      if (e.type !== 'update' || !u) continue;
      for (const list of Object.values(u.withdraw ?? {})) for (const { nlri } of list) routes.delete(nlri);
      for (const byNextHop of Object.values(u.announce ?? {})) {
        for (const [nextHop, list] of Object.entries(byNextHop)) {
          for (const { nlri } of list) {
            const a = u.attribute ?? {};
            const r: DaemonRoute = {
              prefix: nlri,
              nextHop,
              asPath: a['as-path'] ?? [],
              origin: a.origin === 'igp' ? 'i' : a.origin === 'egp' ? 'e' : '?',
            };
            if (a['local-preference'] !== undefined) r.localPref = a['local-preference'];
            if (a.med !== undefined) r.med = a.med;
            // ExaBGP reports the link-local next hop as a second announce; keep the global one.
            if (!(routes.has(nlri) && nextHop.startsWith('fe80'))) routes.set(nlri, r);
          }
        }
      }
    }
    return { up, routes };
  }

  async established(): Promise<boolean> {
    return this.replay().up;
  }

  async routes(afi: Afi): Promise<DaemonRoute[]> {
    return [...this.replay().routes.values()].filter((r) => afiOf(r.prefix) === afi);
  }

  async announce(prefix: string, extra = ''): Promise<void> {
    const nh = afiOf(prefix) === 'ipv6' ? this.options.address6 : 'self';
    const a = this.options.attributes ?? {};
    const attrs = [
      a.med !== undefined ? `med ${a.med}` : '',
      a.localPref !== undefined ? `local-preference ${a.localPref}` : '',
      a.communities?.length ? `community [${a.communities.join(' ')}]` : '',
      a.largeCommunities?.length ? `large-community [${a.largeCommunities.join(' ')}]` : '',
      extra,
    ].filter(Boolean);
    await this.command(`announce route ${prefix} next-hop ${nh} origin igp ${attrs.join(' ')}`.trim());
  }

  /** Announces a prefix with a next hop of the test's choosing (third-party, or one nobody can use). */
  async announceVia(prefix: string, nextHop: string): Promise<void> {
    await this.command(`announce route ${prefix} next-hop ${nextHop} origin igp`);
  }

  async withdraw(prefix: string): Promise<void> {
    const nh = afiOf(prefix) === 'ipv6' ? this.options.address6 : 'self';
    await this.command(`withdraw route ${prefix} next-hop ${nh}`);
  }

  async requestRefresh(): Promise<undefined> {
    await this.command('announce route-refresh ipv4 unicast');
    await this.command('announce route-refresh ipv6 unicast');
  }

  override pause(): void {
    this.paused = true;
    super.pause();
  }

  override resume(): void {
    this.paused = false;
    super.resume();
  }
}
