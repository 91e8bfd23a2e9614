/**
 * BIRD 2 as a process in a namespace: configuration rendered from a typed description (static
 * routes and one bgp protocol per neighbor), started, reconfigured, queried through birdc. The
 * lab's top-of-rack router is a `Bird`; the tests' BIRD peer (`BirdDaemon`, one bgp protocol
 * toward its neighbour) drives the same class through the PeerDaemon interface.
 */
import { ipFamily } from '../../net';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../src/util/exec';
import { Netns, killGroup } from '../netns';
import { until } from '../wait';
import { Afi, DaemonOptions, DaemonRoute, PeerDaemon } from './types';

export interface BirdProtocol {
  name: string;
  neighbor: string;
  asn: number;
  passive?: boolean;
  holdTime?: number;
  password?: string;
  /** Statements applied to every exported route, e.g. "bgp_med = 5;". */
  exportSets?: string[];
  /** Restart time to advertise with graceful restart. */
  gracefulRestart?: number;
  /** IPv6 next hop for IPv6 routes sent over an IPv4 session (BIRD needs it named). */
  ipv6NextHop?: string;
  /** Start with the session disabled (`birdc enable NAME` brings it up). */
  disabled?: boolean;
  /** Our address for this session, when not the global one (a router on several subnets). */
  localAddress?: string;
  /** This neighbour is a route reflection client of ours, in this cluster (RFC 4456). */
  rrClient?: { clusterId: string };
  /** eBGP multihop with this TTL (the neighbour is behind routers). */
  multihop?: number;
  /** BFD guards the session (`bfd on`; the intervals are BirdConfig.bfd's). */
  bfd?: boolean;
}

export interface BirdConfig {
  routerId: string;
  asn: number;
  localAddress: string;
  /** Static routes: "PREFIX", or "PREFIX { bgp_med = 5; }" with attributes for that route. */
  routes: string[];
  protocols: BirdProtocol[];
  /** Install the best BGP routes into the kernel (a router that forwards to what it learns). */
  kernel?: boolean;
  /** A BFD protocol on every interface, for the protocols with `bfd`. */
  bfd?: { intervalMs: number; multiplier: number };
}

export function renderBirdConfig(c: BirdConfig, logFile: string): string {
  const statics = (v6: boolean): string =>
    c.routes
      .map((r) => r.split(/ (.*)/s) as [string, string?])
      .filter(([prefix]) => (ipFamily(prefix) === 6) === v6)
      .map(([prefix, attrs]) => `  route ${prefix} blackhole${attrs ? ` ${attrs}` : ''};`)
      .join('\n');
  /** The optional lines of a protocol, each ending in a newline. */
  const options = (p: BirdProtocol): string =>
    [
      p.disabled ? '  disabled;' : '',
      p.passive ? '  passive on;' : '',
      p.asn === c.asn ? '  direct;' : '',
      p.multihop ? `  multihop ${p.multihop};` : '',
      p.password ? `  password "${p.password}";` : '',
      p.gracefulRestart ? `  graceful restart on; graceful restart time ${p.gracefulRestart};` : '',
      p.rrClient ? `  rr client; rr cluster id ${p.rrClient.clusterId};` : '',
      p.bfd ? '  bfd on;' : '',
    ]
      .filter(Boolean)
      .map((l) => `${l}\n`)
      .join('');
  const protocol = (p: BirdProtocol): string => {
    const exp = p.exportSets?.length ? `filter { ${p.exportSets.join(' ')} accept; }` : 'all';
    // BIRD refuses direct gateways on multihop sessions: next hops are resolved through its tables.
    const gateway = p.multihop ? 'recursive' : 'direct';
    return `protocol bgp ${p.name} {
  local ${p.localAddress ?? c.localAddress} as ${c.asn};
  neighbor ${p.neighbor} as ${p.asn};
${options(p)}  hold time ${p.holdTime ?? 90};
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 4;
  ipv4 { import all; export ${exp}; gateway ${gateway}; };
  ipv6 { import all; export ${exp}; gateway ${gateway};${p.ipv6NextHop ? ` next hop address ${p.ipv6NextHop};` : ''} };
}`;
  };
  // gateway direct: next hops are on the shared segment; no IGP table is needed for iBGP.
  return `router id ${c.routerId};
log "${logFile}" all;
protocol device {}
protocol static s4 { ipv4;
${statics(false)}
}
protocol static s6 { ipv6;
${statics(true)}
}
${c.bfd ? `protocol bfd { interface "*" { min rx interval ${c.bfd.intervalMs} ms; min tx interval ${c.bfd.intervalMs} ms; multiplier ${c.bfd.multiplier}; }; }\n` : ''}${c.kernel ? 'protocol kernel k4 { ipv4 { export where source = RTS_BGP; }; }\nprotocol kernel k6 { ipv6 { export where source = RTS_BGP; }; }\n' : ''}${c.protocols.map(protocol).join('\n')}
`;
}

export class Bird {
  pid = 0;
  readonly socket: string;
  private readonly confFile: string;

  private constructor(
    readonly ns: Netns,
    readonly dir: string,
    public config: BirdConfig,
  ) {
    this.socket = path.join(dir, 'bird.ctl');
    this.confFile = path.join(dir, 'bird.conf');
  }

  static async start(ns: Netns, dir: string, config: BirdConfig, extraArgs: string[] = []): Promise<Bird> {
    const b = new Bird(ns, dir, config);
    await b.launch(extraArgs);
    return b;
  }

  private write(): void {
    fs.writeFileSync(this.confFile, renderBirdConfig(this.config, path.join(this.dir, 'bird.log')));
  }

  /** Starts the daemon (it forks); `-R` in extraArgs makes it a graceful-restart recovery. */
  async launch(extraArgs: string[] = []): Promise<void> {
    this.write();
    const pidFile = path.join(this.dir, 'bird.pid');
    // BIRD daemonizes and its child writes the pid file: a file from an earlier run must not be
    // mistaken for the new one.
    fs.rmSync(this.socket, { force: true });
    fs.rmSync(pidFile, { force: true });
    await this.ns.exec('bird', ['-c', this.confFile, '-s', this.socket, '-P', pidFile, ...extraArgs]);
    const ready = (): boolean => fs.existsSync(this.socket) && fs.existsSync(pidFile) && /^\d+\s*$/.test(fs.readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 200 && !ready(); i++) await new Promise((r) => setTimeout(r, 25));
    if (!ready()) throw new Error(`BIRD in ${this.ns.name} did not start (no ${this.socket} or ${pidFile})`);
    this.pid = Number(fs.readFileSync(pidFile, 'utf8'));
  }

  birdc(...args: string[]): Promise<string> {
    return run('birdc', ['-s', this.socket, ...args]).then((r) => r.stdout);
  }

  /** Applies a changed configuration without a restart (birdc configure). */
  async reconfigure(config: BirdConfig): Promise<void> {
    this.config = config;
    this.write();
    const out = await this.birdc('configure');
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`birdc configure: ${out}`);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.pid) killGroup(this.pid, sig);
  }

  stop(): void {
    this.signal('SIGCONT');
    this.signal('SIGTERM');
  }
}

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
    return parseBirdRoutes(
      await this.bird.birdc('show', 'route', 'all', 'protocol', 'peer', 'table', afi === 'ipv4' ? 'master4' : 'master6'),
    );
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

  /** `birdc show bfd sessions`: one line per session, with its state. */
  bfdSessions(): Promise<string> {
    return this.bird.birdc('show', 'bfd', 'sessions');
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
  const rr = o.routeReflector;
  const peer: BirdProtocol = {
    name: 'peer',
    neighbor: n.address,
    asn: n.asn,
    passive: n.passive,
    holdTime: n.holdTime,
    password: n.password,
    multihop: n.multihop,
    exportSets,
    gracefulRestart: o.gracefulRestart,
    ipv6NextHop: o.address6,
    bfd: !!o.bfd,
    ...(rr ? { rrClient: { clusterId: rr.clusterId } } : {}),
  };
  // More reflection clients: sessions like the first, each in its own protocol.
  const extra = (rr?.extraClients ?? []).map((address, i): BirdProtocol => ({
    ...peer,
    name: `client${i + 2}`,
    neighbor: address,
    password: undefined,
  }));
  return {
    routerId: o.address,
    asn: o.asn,
    localAddress: o.address,
    routes,
    protocols: [peer, ...extra],
    ...(o.bfd ? { bfd: o.bfd } : {}),
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
