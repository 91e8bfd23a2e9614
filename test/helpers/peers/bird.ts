/** BIRD 2 in a namespace: a bgp protocol per neighbor, static routes we edit and reconfigure. */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../../src/lab/exec';
import { killGroup } from '../../../src/lab/netns';
import { until } from '../wait';
import { afiOf, Afi, DaemonOptions, DaemonRoute, PeerDaemon } from './types';

export class BirdDaemon implements PeerDaemon {
  readonly kind = 'bird';
  private readonly own = new Set<string>();
  private readonly conf: string;
  private readonly sock: string;
  private pid = 0;

  constructor(readonly options: DaemonOptions) {
    this.conf = path.join(options.dir, 'bird.conf');
    this.sock = path.join(options.dir, 'bird.ctl');
    for (const r of options.routes ?? []) this.own.add(r);
  }

  static async start(options: DaemonOptions): Promise<BirdDaemon> {
    const d = new BirdDaemon(options);
    await d.launch([]);
    return d;
  }

  private async launch(extra: string[]): Promise<void> {
    this.writeConfig();
    const pidFile = path.join(this.options.dir, 'bird.pid');
    fs.rmSync(this.sock, { force: true });
    await this.options.ns.exec('bird', ['-c', this.conf, '-s', this.sock, '-P', pidFile, ...extra]);
    this.pid = Number(fs.readFileSync(pidFile, 'utf8'));
    await until(() => fs.existsSync(this.sock), 5000, 'BIRD control socket');
  }

  /** Dies at once (SIGKILL): the kernel closes its connections, no NOTIFICATION is sent. */
  async crash(): Promise<void> {
    killGroup(this.pid, 'SIGKILL');
    await until(() => !fs.existsSync(`/proc/${this.pid}`), 5000, 'BIRD gone');
  }

  /** Starts again, announcing `routes`; `recovery` is BIRD's -R (graceful restart recovery). */
  async restart(routes: string[], recovery: boolean): Promise<void> {
    this.own.clear();
    for (const r of routes) this.own.add(r);
    await this.launch(recovery ? ['-R'] : []);
  }

  /** Ends the session cleanly (Cease / Administrative Shutdown). */
  async disable(): Promise<void> {
    await this.birdc('disable', 'peer');
  }

  private writeConfig(): void {
    const o = this.options;
    const n = o.neighbor;
    const static4 = [...this.own].filter((r) => afiOf(r) === 'ipv4').map((r) => `  route ${r} blackhole;`);
    const static6 = [...this.own].filter((r) => afiOf(r) === 'ipv6').map((r) => `  route ${r} blackhole;`);
    const a = o.attributes ?? {};
    const sets = [
      a.med !== undefined ? `bgp_med = ${a.med};` : '',
      a.localPref !== undefined ? `bgp_local_pref = ${a.localPref};` : '',
      ...(a.communities ?? []).map((c) => `bgp_community.add((${c.replace(':', ',')}));`),
      ...(a.largeCommunities ?? []).map((c) => `bgp_large_community.add((${c.replaceAll(':', ',')}));`),
    ].filter(Boolean);
    const exportFilter = sets.length ? `filter { ${sets.join(' ')} accept; }` : 'all';
    // gateway direct: next hops are on the shared segment; no IGP table is needed for iBGP.
    fs.writeFileSync(
      this.conf,
      `router id ${o.address};
log "${path.join(o.dir, 'bird.log')}" all;
protocol device {}
protocol static s4 { ipv4;
${static4.join('\n')}
}
protocol static s6 { ipv6;
${static6.join('\n')}
}
protocol bgp peer {
  local ${o.address} as ${o.asn};
  neighbor ${n.address} as ${n.asn};
  ${n.passive ? 'passive on;' : ''}
  ${n.asn === o.asn ? 'direct;' : ''}
  ${n.password ? `password "${n.password}";` : ''}
  ${o.gracefulRestart ? `graceful restart on; graceful restart time ${o.gracefulRestart};` : ''}
  hold time ${n.holdTime ?? 90};
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 4;
  ipv4 { import all; export ${exportFilter}; gateway direct; };
  ipv6 { import all; export ${exportFilter}; gateway direct; next hop address ${o.address6}; };
}
`,
    );
  }

  private birdc(...args: string[]): Promise<string> {
    return run('birdc', ['-s', this.sock, ...args]).then((r) => r.stdout);
  }

  async established(): Promise<boolean> {
    return /BGP state:\s+Established/.test(await this.birdc('show', 'protocols', 'all', 'peer'));
  }

  async routes(afi: Afi): Promise<DaemonRoute[]> {
    const out = await this.birdc('show', 'route', 'all', 'protocol', 'peer', 'table', afi === 'ipv4' ? 'master4' : 'master6');
    return parseBirdRoutes(out);
  }

  async announce(prefix: string): Promise<void> {
    this.own.add(prefix);
    await this.reconfigure();
  }

  async withdraw(prefix: string): Promise<void> {
    this.own.delete(prefix);
    await this.reconfigure();
  }

  private async reconfigure(): Promise<void> {
    this.writeConfig();
    const out = await this.birdc('configure');
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`birdc configure: ${out}`);
  }

  async requestRefresh(): Promise<undefined> {
    await this.birdc('reload', 'in', 'peer');
  }

  pause(): void {
    killGroup(this.pid, 'SIGSTOP');
  }

  resume(): void {
    killGroup(this.pid, 'SIGCONT');
  }

  async stop(): Promise<void> {
    killGroup(this.pid, 'SIGCONT');
    killGroup(this.pid, 'SIGTERM');
  }
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
