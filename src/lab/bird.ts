/**
 * BIRD 2 as a process in a namespace: configuration rendered from a typed description (static
 * routes and one bgp protocol per neighbor), started, reconfigured, queried through birdc. The
 * lab's top-of-rack router and the tests' BIRD peers are both this.
 */
import { ipFamily } from '../../net';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../util/exec';
import { Netns, killGroup } from './netns';

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
}

export function renderBirdConfig(c: BirdConfig, logFile: string): string {
  const statics = (v6: boolean): string =>
    c.routes
      .map((r) => r.split(/ (.*)/s) as [string, string?])
      .filter(([prefix]) => (ipFamily(prefix) === 6) === v6)
      .map(([prefix, attrs]) => `  route ${prefix} blackhole${attrs ? ` ${attrs}` : ''};`)
      .join('\n');
  const protocol = (p: BirdProtocol): string => {
    const exp = p.exportSets?.length ? `filter { ${p.exportSets.join(' ')} accept; }` : 'all';
    return `protocol bgp ${p.name} {
  local ${p.localAddress ?? c.localAddress} as ${c.asn};
  neighbor ${p.neighbor} as ${p.asn};
${p.disabled ? '  disabled;\n' : ''}${p.passive ? '  passive on;\n' : ''}${p.asn === c.asn ? '  direct;\n' : ''}${p.password ? `  password "${p.password}";\n` : ''}${p.gracefulRestart ? `  graceful restart on; graceful restart time ${p.gracefulRestart};\n` : ''}  hold time ${p.holdTime ?? 90};
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 4;
  ipv4 { import all; export ${exp}; gateway direct; };
  ipv6 { import all; export ${exp}; gateway direct;${p.ipv6NextHop ? ` next hop address ${p.ipv6NextHop};` : ''} };
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
${c.kernel ? 'protocol kernel k4 { ipv4 { export where source = RTS_BGP; }; }\nprotocol kernel k6 { ipv6 { export where source = RTS_BGP; }; }\n' : ''}${c.protocols.map(protocol).join('\n')}
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
