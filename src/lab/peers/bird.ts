/** BIRD 2 as a peer with one bgp protocol toward its neighbor, over ../bird.ts. */
import fs from 'node:fs';
import { Bird, BirdConfig } from '../bird';
import { until } from '../wait';
import { Afi, DaemonOptions, DaemonRoute, PeerDaemon } from './types';

export class BirdDaemon implements PeerDaemon {
  readonly kind = 'bird';
  private constructor(
    readonly options: DaemonOptions,
    private readonly bird: Bird,
  ) {}

  static async start(options: DaemonOptions): Promise<BirdDaemon> {
    return new BirdDaemon(options, await Bird.start(options.ns, options.dir, configOf(options, options.routes ?? [])));
  }

  async established(): Promise<boolean> {
    return /BGP state:\s+Established/.test(await this.bird.birdc('show', 'protocols', 'all', 'peer'));
  }

  async routes(afi: Afi): Promise<DaemonRoute[]> {
    return parseBirdRoutes(await this.bird.birdc('show', 'route', 'all', 'protocol', 'peer', 'table', afi === 'ipv4' ? 'master4' : 'master6'));
  }

  async announce(prefix: string): Promise<void> {
    await this.bird.reconfigure({ ...this.bird.config, routes: [...new Set([...this.bird.config.routes, prefix])] });
  }

  async withdraw(prefix: string): Promise<void> {
    await this.bird.reconfigure({ ...this.bird.config, routes: this.bird.config.routes.filter((r) => r !== prefix) });
  }

  async requestRefresh(): Promise<undefined> {
    await this.bird.birdc('reload', 'in', 'peer');
  }

  /** Dies at once (SIGKILL): the kernel closes its connections, no NOTIFICATION is sent. */
  async crash(): Promise<void> {
    const pid = this.bird.pid;
    this.bird.signal('SIGKILL');
    await until(() => !fs.existsSync(`/proc/${pid}`), 5000, 'BIRD gone');
  }

  /** Starts again announcing `routes`; `recovery` is BIRD's -R (graceful restart recovery). */
  async restart(routes: string[], recovery: boolean): Promise<void> {
    this.bird.config = { ...this.bird.config, routes };
    await this.bird.launch(recovery ? ['-R'] : []);
  }

  /** Ends the session cleanly (Cease / Administrative Shutdown). */
  async disable(): Promise<void> {
    await this.bird.birdc('disable', 'peer');
  }

  pause(): void {
    this.bird.signal('SIGSTOP');
  }

  resume(): void {
    this.bird.signal('SIGCONT');
  }

  async stop(): Promise<void> {
    this.bird.stop();
  }
}

function configOf(o: DaemonOptions, routes: string[]): BirdConfig {
  const a = o.attributes ?? {};
  const exportSets = [
    a.med !== undefined ? `bgp_med = ${a.med};` : '',
    a.localPref !== undefined ? `bgp_local_pref = ${a.localPref};` : '',
    ...(a.communities ?? []).map((c) => `bgp_community.add((${c.replace(':', ',')}));`),
    ...(a.largeCommunities ?? []).map((c) => `bgp_large_community.add((${c.replaceAll(':', ',')}));`),
  ].filter(Boolean);
  const n = o.neighbor;
  return {
    routerId: o.address,
    asn: o.asn,
    localAddress: o.address,
    routes,
    protocols: [
      {
        name: 'peer',
        neighbor: n.address,
        asn: n.asn,
        passive: n.passive,
        holdTime: n.holdTime,
        password: n.password,
        exportSets,
        gracefulRestart: o.gracefulRestart,
        ipv6NextHop: o.address6,
      },
    ],
  };
}

/**
 * Parses `birdc show route all`: a line per route ("10.0.0.0/24  unicast [peer ...] * (100)
 * [AS65000i]"), continuation lines for the same prefix start with whitespace, then BGP.*
 * attribute lines.
 */
export function parseBirdRoutes(out: string): DaemonRoute[] {
  const routes: DaemonRoute[] = [];
  let prefix = '';
  let cur: DaemonRoute | undefined;
  for (const line of out.split('\n')) {
    const head = /^(\S+\/\d+)\s+unicast/.exec(line) ?? /^\s+unicast/.exec(line);
    if (head) {
      if (head[1]) prefix = head[1];
      cur = { prefix, nextHop: '', asPath: [], origin: '?' };
      routes.push(cur);
      continue;
    }
    if (!cur) continue;
    const attr = /^\s+BGP\.(\w+):\s*(.*)$/.exec(line);
    if (!attr) continue;
    const [, key, value] = attr as unknown as [string, string, string];
    if (key === 'origin') cur.origin = value === 'IGP' ? 'i' : value === 'EGP' ? 'e' : '?';
    else if (key === 'as_path') cur.asPath = value.split(/\s+/).filter(Boolean).map(Number);
    else if (key === 'next_hop') cur.nextHop = value.split(/\s+/)[0]!;
    else if (key === 'local_pref') cur.localPref = Number(value);
    else if (key === 'med') cur.med = Number(value);
  }
  return routes;
}
