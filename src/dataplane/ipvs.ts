/**
 * IPVS reconciler through ipvsadm: the table is read with `ipvsadm -Sn` (its save format, one
 * command per line) and changed with one `ipvsadm -R` script of -A/-E/-D and -a/-e/-d commands,
 * so a sync is two process runs however many services there are. Only virtual servers the
 * caller says are ours (on a VIP or a node IP) are edited or pruned; anyone else's are left.
 */
import { hostPort, ipFamily } from '../../net';
import { run, type Runner } from '../util/exec';
import type { DrainUpdate, IpvsDrain, PodPeriod } from './ipvs-drain';

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';

export interface RealServer {
  address: string;
  port: number;
  weight: number;
  /** Forwarding: IPIP tunnel (-i, DSR) instead of NAT (-m). */
  tunnel?: boolean;
}

/** A virtual server as the kernel has it (what ipvsadm shows); the service proxy's desired ones have the same shape. */
export interface IpvsService {
  protocol: IpvsProtocol;
  address: string;
  port: number;
  scheduler: string;
  /** Persistence timeout, seconds. */
  persistence?: number;
  /** Scheduler flags as a mask: 1 flag-1 (sh/mh-fallback), 2 flag-2 (sh/mh-port), 4 flag-3. */
  schedFlags?: number;
  realServers: RealServer[];
  /**
   * A firewall-mark service (-f, DSR): the mark and the address's family identify it; the
   * protocol, address and port say what mangle marks (read from the kernel: 0.0.0.0 or ::, 0).
   */
  fwmark?: number;
}

/** ipvsadm's names for the scheduler flags (it prints sh- and mh- names for those schedulers). */
const SCHED_FLAG_BITS: Record<string, number> = {
  'flag-1': 1,
  'sh-fallback': 1,
  'mh-fallback': 1,
  'flag-2': 2,
  'sh-port': 2,
  'mh-port': 2,
  'flag-3': 4,
};
const schedFlagsText = (mask: number): string =>
  [1, 2, 4]
    .filter((b) => mask & b)
    .map((b) => `flag-${Math.log2(b) + 1}`)
    .join(',');

/** IPVS connection timeouts, seconds (`ipvsadm --set`); 0 leaves one as it is. */
export interface IpvsTimeouts {
  tcp: number;
  tcpfin: number;
  udp: number;
}

/** "tcp:10.96.0.10:80", "udp:[fd00::10]:53", as the service proxy controller keys them. */
export const ipvsKey = (s: Pick<IpvsService, 'protocol' | 'address' | 'port' | 'fwmark'>): string =>
  s.fwmark ? fwmKey(s.fwmark, ipFamily(s.address)) : `${s.protocol}:${hostPort(s.address, s.port)}`;
/** "fwm:1234" (IPv4) or "fwm6:1234". */
const fwmKey = (mark: number, family: 4 | 6): string => `fwm${family === 6 ? '6' : ''}:${mark}`;

export interface IpvsChanges {
  added: string[];
  edited: string[];
  removed: string[];
  /** Real servers added, re-weighted or removed, "tcp:10.96.0.10:80 -> 10.244.1.2:8080". */
  realServers: string[];
  /** The connection timeouts were set. */
  timeouts?: IpvsTimeouts;
  /** Real servers set to weight 0 to drain (--ipvs-graceful-termination), "tcp:10.96.0.10:80 10.244.1.2:8080". */
  drainStarted?: string[];
  /** Draining real servers removed, with why. */
  drainEnded?: string[];
}

const PROTO_FLAG: Record<IpvsProtocol, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };
const FLAG_PROTO: Record<string, IpvsProtocol> = {
  '-t': 'tcp',
  '--tcp-service': 'tcp',
  '-u': 'udp',
  '--udp-service': 'udp',
  '--sctp-service': 'sctp',
};

/** "10.96.0.10:80" or "[fd00::10]:80" -> address, port. */
function splitHostPort(text: string): { address: string; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`BUG: ipvsadm printed an address we cannot read: ${JSON.stringify(text)}`);
  return { address: m[1]!, port: Number(m[2]) };
}

/** Parses `ipvsadm -Sn`: address services and firewall-mark services (-f, "-6" for IPv6). */
export function parseIpvsSave(text: string): IpvsService[] {
  const services = new Map<string, IpvsService>();
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words.length < 3) continue;
    const [cmd, flag, target] = words as [string, string, string];
    const fwmark = flag === '-f' || flag === '--fwmark-service' ? Number(target) : undefined;
    const protocol = fwmark !== undefined ? 'tcp' : FLAG_PROTO[flag];
    if (!protocol || (fwmark !== undefined && !(fwmark > 0))) continue;
    const vip = fwmark !== undefined ? { address: words.includes('-6') ? '::' : '0.0.0.0', port: 0 } : splitHostPort(target);
    const key = ipvsKey({ protocol, ...vip, fwmark });
    const opt = (name: string): string | undefined => {
      const i = words.indexOf(name);
      return i >= 0 ? words[i + 1] : undefined;
    };
    if (cmd === '-A') {
      const s: IpvsService = { protocol, ...vip, scheduler: opt('-s') ?? 'wlc', realServers: [] };
      if (fwmark !== undefined) s.fwmark = fwmark;
      const p = opt('-p');
      if (p !== undefined) s.persistence = Number(p);
      const b = opt('-b');
      const mask = (b ?? '').split(',').reduce((m, name) => m | (SCHED_FLAG_BITS[name] ?? 0), 0);
      if (mask) s.schedFlags = mask;
      services.set(key, s);
    } else if (cmd === '-a') {
      const rs = opt('-r');
      if (!rs) continue;
      const r: RealServer = { ...splitHostPort(rs), weight: Number(opt('-w') ?? 1) };
      if (words.includes('-i') || words.includes('--ipip')) r.tunnel = true;
      services.get(key)?.realServers.push(r);
    }
  }
  return [...services.values()];
}

/** Counters (`ipvsadm -Ln --stats --exact`) and rates (`--rate`) of one virtual server. */
export interface IpvsStats {
  connections: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  cps: number;
  ppsIn: number;
  ppsOut: number;
  bpsIn: number;
  bpsOut: number;
}

/** The key of a virtual server line of `ipvsadm -Ln`: "TCP 10.96.0.1:443", "FWM 1234", "FWM 1234 IPv6". */
const listedKey = (kind: string, target: string, v6: boolean): string =>
  kind === 'FWM' ? fwmKey(Number(target), v6 ? 6 : 4) : ipvsKey({ protocol: kind.toLowerCase() as IpvsProtocol, ...splitHostPort(target) });

/** The five numbers after each virtual server of an `ipvsadm -Ln --stats|--rate --exact` listing, by key. */
function listedNumbers(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    const m = /^(TCP|UDP|SCTP|FWM)\s+(\S+)(\s+IPv6)?\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m) out.set(listedKey(m[1]!, m[2]!, !!m[3]), m.slice(4, 9).map(Number));
  }
  return out;
}

/** Joins the two listings: virtual servers (not real servers, "  ->" lines) present in both. */
export function parseIpvsStats(statsText: string, rateText: string): Map<string, IpvsStats> {
  const rates = listedNumbers(rateText);
  const out = new Map<string, IpvsStats>();
  for (const [key, [connections, packetsIn, packetsOut, bytesIn, bytesOut]] of listedNumbers(statsText)) {
    const [cps, ppsIn, ppsOut, bpsIn, bpsOut] = rates.get(key) ?? [0, 0, 0, 0, 0];
    out.set(key, {
      connections: connections!,
      packetsIn: packetsIn!,
      packetsOut: packetsOut!,
      bytesIn: bytesIn!,
      bytesOut: bytesOut!,
      cps: cps!,
      ppsIn: ppsIn!,
      ppsOut: ppsOut!,
      bpsIn: bpsIn!,
      bpsOut: bpsOut!,
    });
  }
  return out;
}

/**
 * Active plus inactive connections per real server ("tcp:10.96.0.10:80 10.244.1.2:8080") from
 * `ipvsadm -Ln --exact`, whose real server lines follow their virtual server's.
 */
export function parseIpvsConnections(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let service: string | undefined;
  for (const line of text.split('\n')) {
    const vs = /^(TCP|UDP|SCTP|FWM)\s+(\S+)(\s+IPv6)?/.exec(line);
    if (vs) {
      service = listedKey(vs[1]!, vs[2]!, !!vs[3]);
      continue;
    }
    const rs = /^\s+->\s+(\S+)\s+\S+\s+\d+\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (rs && service) out.set(`${service} ${rs[1]}`, Number(rs[2]) + Number(rs[3]));
  }
  return out;
}

const serviceArgs = (s: Pick<IpvsService, 'protocol' | 'address' | 'port' | 'fwmark'>): string =>
  s.fwmark ? `-f ${s.fwmark}${ipFamily(s.address) === 6 ? ' -6' : ''}` : `${PROTO_FLAG[s.protocol]} ${hostPort(s.address, s.port)}`;
const serviceOptions = (s: IpvsService): string =>
  `-s ${s.scheduler}${s.persistence !== undefined ? ` -p ${s.persistence}` : ''}${s.schedFlags ? ` -b ${schedFlagsText(s.schedFlags)}` : ''}`;
const realKey = (r: RealServer): string => hostPort(r.address, r.port);

/**
 * The ipvsadm commands turning `have` into `want` for the services `owned` accepts. NAT
 * ("masquerading", -m) forwarding, as kube-router's default; IPIP (-i) for DSR real servers.
 */
export function planIpvs(
  have: readonly IpvsService[],
  want: readonly IpvsService[],
  owned: (s: IpvsService) => boolean,
): { script: string[]; changes: IpvsChanges } {
  const script: string[] = [];
  const changes: IpvsChanges = { added: [], edited: [], removed: [], realServers: [] };
  const haveByKey = new Map(have.map((s) => [ipvsKey(s), s]));
  const wantKeys = new Set(want.map((s) => ipvsKey(s)));
  for (const s of have) {
    const key = ipvsKey(s);
    if (!wantKeys.has(key) && owned(s)) {
      script.push(`-D ${serviceArgs(s)}`);
      changes.removed.push(key);
    }
  }
  for (const w of want) {
    const key = ipvsKey(w);
    const h = haveByKey.get(key);
    if (!h) {
      script.push(`-A ${serviceArgs(w)} ${serviceOptions(w)}`);
      changes.added.push(key);
    } else if (h.scheduler !== w.scheduler || h.persistence !== w.persistence || (h.schedFlags ?? 0) !== (w.schedFlags ?? 0)) {
      script.push(`-E ${serviceArgs(w)} ${serviceOptions(w)}`);
      changes.edited.push(key);
    }
    const haveReal = new Map((h?.realServers ?? []).map((r) => [realKey(r), r]));
    const wantReal = new Set(w.realServers.map(realKey));
    for (const [rk] of haveReal) {
      if (wantReal.has(rk)) continue;
      script.push(`-d ${serviceArgs(w)} -r ${rk}`);
      changes.realServers.push(`${key} -x ${rk}`);
    }
    for (const r of w.realServers) {
      const old = haveReal.get(realKey(r));
      if (old && old.weight === r.weight && !old.tunnel === !r.tunnel) continue;
      script.push(`${old ? '-e' : '-a'} ${serviceArgs(w)} -r ${realKey(r)} ${r.tunnel ? '-i' : '-m'} -w ${r.weight}`);
      changes.realServers.push(`${key} -> ${realKey(r)}`);
    }
  }
  return { script, changes };
}

/** How long timeouts read back as wanted are trusted before they are read again. */
const TIMEOUTS_RECHECK_MS = 60_000;

export class Ipvs {
  private timeoutsChecked: { key: string; at: number } | undefined;

  constructor(
    private readonly exec: Runner = run,
    private readonly ipvsadm = 'ipvsadm',
    private readonly now: () => number = Date.now,
  ) {}

  async services(): Promise<IpvsService[]> {
    const r = await this.exec(this.ipvsadm, ['-Sn'], { allowFail: true });
    if (r.code !== 0)
      throw new Error(`cannot read the IPVS table: ${(r.stderr || r.stdout).trim()} (the service proxy needs the ip_vs kernel module)`);
    return parseIpvsSave(r.stdout);
  }

  /**
   * Sets the connection timeouts given (non-zero) that differ from the kernel's; returns
   * whether it changed them. (--service-tcp-timeout and friends; 0 keeps the system's.)
   */
  async ensureTimeouts(t: IpvsTimeouts): Promise<boolean> {
    if (!t.tcp && !t.tcpfin && !t.udp) return false;
    // Services runs come with every endpoint change; the timeouts are read at most once a minute.
    const key = `${t.tcp} ${t.tcpfin} ${t.udp}`;
    if (this.timeoutsChecked?.key === key && this.now() - this.timeoutsChecked.at < TIMEOUTS_RECHECK_MS) return false;
    this.timeoutsChecked = { key, at: this.now() };
    const r = await this.exec(this.ipvsadm, ['-L', '--timeout']);
    const m = /Timeout \(tcp tcpfin udp\):\s*(\d+)\s+(\d+)\s+(\d+)/.exec(r.stdout);
    const have = m ? { tcp: Number(m[1]), tcpfin: Number(m[2]), udp: Number(m[3]) } : undefined;
    if (have && (['tcp', 'tcpfin', 'udp'] as const).every((k) => !t[k] || t[k] === have[k])) return false;
    await this.exec(this.ipvsadm, ['--set', String(t.tcp), String(t.tcpfin), String(t.udp)]);
    return true;
  }

  /** Every virtual server's counters and rates, by key (for the per-service metrics). */
  async stats(): Promise<Map<string, IpvsStats>> {
    const [stats, rate] = await Promise.all([
      this.exec(this.ipvsadm, ['-Ln', '--stats', '--exact']),
      this.exec(this.ipvsadm, ['-Ln', '--rate', '--exact']),
    ]);
    return parseIpvsStats(stats.stdout, rate.stdout);
  }

  /**
   * Makes the IPVS table hold `want`, removing services of ours that are not wanted; with
   * `drain`, real servers leaving a service that stays drain first (their connections are read
   * only then).
   */
  async reconcile(
    want: readonly IpvsService[],
    owned: (s: IpvsService) => boolean,
    drain?: { drain: IpvsDrain; podPeriod?: PodPeriod },
  ): Promise<IpvsChanges> {
    const have = await this.services();
    let graceful: DrainUpdate | undefined;
    if (drain?.drain.departing(have, want)) {
      const listing = await this.exec(this.ipvsadm, ['-Ln', '--exact']);
      graceful = drain.drain.update(have, want, parseIpvsConnections(listing.stdout), drain.podPeriod);
    }
    const { script, changes } = planIpvs(have, graceful?.want ?? want, owned);
    if (script.length) await this.exec(this.ipvsadm, ['-R'], { input: `${script.join('\n')}\n` });
    if (graceful?.started.length) changes.drainStarted = graceful.started;
    if (graceful?.ended.length) changes.drainEnded = graceful.ended.map((e) => `${e.id}: ${e.why}`);
    return changes;
  }
}
