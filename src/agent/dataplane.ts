/**
 * The node's data path, driven by desired state: forwarding sysctls, kube-bridge, the CNI
 * config, the ipsets and iptables rules for pod egress, the routes learned over BGP and the
 * service proxy. Each loop (setup, kernel, services) hands its share of desired state to the
 * reconcilers of pieces.ts, walked in their one order; each reads the kernel and applies the
 * difference. Drift (kernel events, the periodic check) runs the loop owning what changed.
 */
import { inPrefixes, ipFamily, networkOf } from '../../net';
import { MAIN_TABLE, Rtnl, type Address, type Link } from '../dataplane/rtnl';
import { RouteReconciler, RouteChanges, protocolName } from '../dataplane/routes';
import { TunnelReconciler, TunnelView } from '../dataplane/tunnels';
import type { KernelPlan } from './kernel-plan';
import { BRIDGE } from '../dataplane/bridge';
import { differingSets, IpSetSpec, NODE_IPS, POD_SUBNETS, v6Name } from '../dataplane/ipsets';
import { forwardingSysctls, procSysctls, serviceProxySysctls, type Sysctls } from '../dataplane/sysctl';
import { KernelWatch, Loop } from '../dataplane/kernel-events';
import { NftWatch } from '../dataplane/nft-events';
import { Probe } from '../dataplane/probe';
import { Ipvs, IpvsService, IpvsChanges, parseIpvsSave, planIpvs, type IpvsStats } from '../dataplane/ipvs';
import { ensureModules } from '../dataplane/modules';
import {
  dsrMangleRules,
  hairpinRules,
  ipvsSnatRules,
  isServicesLine,
  ourLines,
  permitAllRules,
  saveCommand,
  SVIP,
  SVIP_PORTS,
} from '../dataplane/iptables';
import { isFirewallLine, sameLines, type FirewallResult } from '../dataplane/firewall';
import { nftLines, nftListCommand } from '../dataplane/firewall-nft';
import type { FirewallRender } from '../dataplane/netpol';
import { DEFAULT_FOU_PORT, makePieces, walk, type Pieces } from '../dataplane/pieces';
import { run, type Runner } from '../util/exec';
import type { AgentConfig } from '../config/agent-config';
import type { Logger } from '../../bgp';
import { IpvsDrain, type PodPeriod } from '../dataplane/ipvs-drain';
import type { DsrRoutingChanges } from '../dataplane/dsr-routing';
import type { PodTunnelChanges, PodTunnelWant } from '../dataplane/pod-tunnels';
import { isDsrMark } from '../../controllers/dsr';

export interface NodeDataPlane {
  podCidrs: readonly string[];
  /** Every node's pod CIDRs and IPs (ipsets). */
  podSubnets: readonly string[];
  nodeIps: readonly string[];
  nodeIp: string | undefined;
}

const v4 = (x: string): boolean => ipFamily(x) === 4;

/** What a services run changed. */
export type ServicesChanges = IpvsChanges & {
  vipsAdded: string[];
  vipsRemoved: string[];
  dsr: DsrRoutingChanges;
  podTunnels: PodTunnelChanges;
};

/** The service proxy's desired state, as the data path needs it. */
export interface ServicesDataPlane {
  virtualServers: readonly (IpvsService & { hairpin: boolean })[];
  vips: readonly string[];
  /** This node's IP per family (SNAT source, node ports). */
  nodeIps: readonly string[];
  /** With --nodeport-bindon-all-ip: every address node ports listen on (their virtual servers are ours). */
  nodePortIps?: readonly string[];
  podCidrs: readonly string[];
  /** With --ipvs-graceful-termination: the terminationGracePeriodSeconds of the pod with an IP, when known. */
  podPeriod?: PodPeriod;
  /** DSR: local endpoint pods and the addresses their tunnel device holds. */
  podTunnels?: readonly PodTunnelWant[];
}

/**
 * The addresses node ports listen on with --nodeport-bindon-all-ip, as kube-router picks them:
 * every interface's but those named *dummy*, *kube* or *docker* (kube-dummy-if, kube-bridge);
 * and here neither loopback (IPVS would take 127.0.0.1 for local clients, whose replies cannot
 * be SNATed back) nor IPv6 link-local ones; only the families in use.
 */
export function nodePortAddresses(
  links: readonly Pick<Link, 'index' | 'name'>[],
  addresses: readonly Address[],
  c: Pick<AgentConfig, 'ipv4' | 'ipv6'>,
): string[] {
  const skip = new Set(links.filter((l) => /dummy|kube|docker/.test(l.name) || l.name === 'lo').map((l) => l.index));
  const ips = addresses
    .filter((a) => !skip.has(a.index))
    .map((a) => a.cidr.split('/')[0]!)
    .filter((ip) => (v4(ip) ? c.ipv4 : c.ipv6 && !/^fe[89ab]/i.test(ip)));
  return [...new Set(ips)].sort();
}

/** What the data path talks to the kernel through: real ones from `systemDeps`, fakes in unit tests. */
export interface DataPlaneDeps {
  rtnl: Rtnl;
  run: Runner;
  sysctls: Sysctls;
  /** The long-lived shell the drift checks read ipsets, IPVS and iptables through. */
  probe: Probe;
}

/** The node's own: an rtnetlink socket, child processes, /proc/sys. */
export function systemDeps(log: Logger): DataPlaneDeps {
  return {
    rtnl: Rtnl.open((err) => log.warn({ err: err.message }, 'rtnetlink socket error')),
    run,
    sysctls: procSysctls,
    probe: new Probe(),
  };
}

export class DataPlane {
  readonly rtnl: Rtnl;
  /** The reconcilers, walked in their one order (pieces.ts). */
  private readonly pieces: Pieces;
  /** Readers for the status (not reconcilers: they change nothing). */
  private readonly routesView: RouteReconciler;
  private readonly tunnelsView: TunnelReconciler;
  private readonly sysctls: Sysctls;
  private readonly run: Runner;
  private readonly probe: Probe;
  private proxyReady = false;
  /** Tunnel modules DSR has made sure of. */
  private readonly dsrModules = new Set<string>();
  /**
   * Addresses node ports were put on by an earlier run (--nodeport-bindon-all-ip): when one leaves
   * the node, its virtual servers are still ours to remove. Kept until a run succeeds without it.
   */
  private nodePortIpsBefore = new Set<string>();
  /** --ipvs-graceful-termination: real servers draining at weight 0. */
  private readonly drain: IpvsDrain | undefined;
  private watch: KernelWatch | undefined;
  /** nftables change events (undefined: none here, so iptables is read at every check). */
  private nft: NftWatch | undefined;
  private iptablesChanged = false;
  private warnedIpvs = false;
  /** The sysctls the routes loop set (rp_filter on tunnels), for the drift check. */
  private routesSysctls: Record<string, string> = {};
  /** What the last setup and services runs made, to tell someone else's change from ours (drift). */
  /** (iptables undefined: what the run wrote was changed before it could be read back; check again.) */
  private setupWant: { sysctls: Record<string, string>; sets: IpSetSpec[]; iptables: string[] | undefined } | undefined;
  /** What the firewall's last run left: its sets, its iptables lines, or (nftables) its tables' lines. */
  private firewallWant: { sets: IpSetSpec[]; iptables: string[] | undefined; nft?: string[] | undefined } | undefined;
  private firewallCleaned = false;
  private servicesWant:
    | {
        sysctls: Record<string, string>;
        virtualServers: readonly IpvsService[];
        owned: (s: IpvsService) => boolean;
        iptables: string[] | undefined;
        sets: IpSetSpec[];
      }
    | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: Logger,
    deps: DataPlaneDeps,
  ) {
    this.rtnl = deps.rtnl;
    if (config.ipvsGracefulPeriodMs !== undefined) this.drain = new IpvsDrain(config.ipvsGracefulPeriodMs);
    this.run = deps.run;
    this.sysctls = deps.sysctls;
    this.probe = deps.probe;
    this.pieces = makePieces({
      ...deps,
      cniConfPath: config.cniConfPath,
      fouPort: config.overlay?.port ?? DEFAULT_FOU_PORT,
      runtimeEndpoint: config.runtimeEndpoint,
      // The watch starts after the pieces are made (watchKernel): looked up at each change.
      routeEchoes: { expect: (dst) => this.watch?.routeEchoes.expect(dst), cancel: (dst) => this.watch?.routeEchoes.cancel(dst) },
    });
    this.routesView = new RouteReconciler(this.rtnl);
    this.tunnelsView = new TunnelReconciler(this.rtnl);
  }

  private families(): (4 | 6)[] {
    return [...(this.config.ipv4 ? [4 as const] : []), ...(this.config.ipv6 ? [6 as const] : [])];
  }

  /** Everything but routes: sysctls, bridge and CNI config, ipsets, then iptables (which use them). */
  async reconcileSetup(d: NodeDataPlane): Promise<void> {
    const c = this.config;
    const sysctls = forwardingSysctls(c.ipv4, c.ipv6);
    const podCidrs = d.podCidrs.filter((x) => (v4(x) ? c.ipv4 : c.ipv6));
    const cni = c.enableCni && podCidrs.length > 0;
    const mtu = cni && c.autoMtu ? (await this.interfaces(d.nodeIp)).uplinkMtu : undefined;
    const sets: IpSetSpec[] = [];
    if (c.ipv4) {
      sets.push({ name: POD_SUBNETS, type: 'hash:net', family: 'inet', members: d.podSubnets.filter(v4) });
      sets.push({ name: NODE_IPS, type: 'hash:ip', family: 'inet', members: d.nodeIps.filter(v4) });
    }
    if (c.ipv6) {
      sets.push({ name: v6Name(POD_SUBNETS), type: 'hash:net', family: 'inet6', members: d.podSubnets.filter((x) => !v4(x)) });
      sets.push({ name: v6Name(NODE_IPS), type: 'hash:ip', family: 'inet6', members: d.nodeIps.filter((x) => !v4(x)) });
    }
    const r = await walk(this.pieces, {
      sysctls,
      ...(cni ? { 'kube-bridge': { podCidrs, mtu }, cni: { podCidrs, mtu } } : {}),
      ipsets: sets,
      iptables: {
        families: this.families(),
        settings: { podEgress: c.enablePodEgress, firewall: c.runFirewall && !c.useNftablesForNetpol },
      },
    });
    if (!c.runFirewall && !this.firewallCleaned) {
      // A run before this one may have had the firewall on: its rules would still judge pods.
      const removed = await this.pieces.firewall.cleanup();
      if (removed.length) this.log.info({ removed }, 'removed the network policy firewall (--run-firewall=false)');
      this.firewallCleaned = true;
    }
    if (r.sysctls?.length) this.log.info({ sysctls: r.sysctls }, 'enabled forwarding');
    const b = r['kube-bridge'];
    if (b && (b.created || b.addressesChanged)) this.log.info({ bridge: BRIDGE, podCidrs, mtu }, 'kube-bridge configured');
    if (r.cni) this.log.info({ file: c.cniConfPath, podCidrs }, 'wrote CNI config');
    if (r.ipsets?.length) this.log.info({ ipsets: r.ipsets }, 'ipsets updated');
    this.setupWant = { sysctls, sets, iptables: r.iptables };
  }

  /**
   * Tunnels first (routes name them), the GUE port, routes, the rules that send pod traffic to
   * table 77, then loose reverse-path filtering on the tunnels. With `prune` false nothing stale
   * is removed yet (after a restart, until BGP has converged).
   */
  async reconcileKernel(plan: KernelPlan, prune: boolean): Promise<RouteChanges> {
    this.watch?.setRouteDsts(new Set(plan.routes.map((r) => r.dst)));
    // Loose rp_filter: a remote node's own packets arrive over the tunnel while the main table
    // reaches that node over the uplink, which strict mode would drop. (IPv6 has no rp_filter.)
    const rpFilter = Object.fromEntries(plan.tunnels.filter((x) => x.family === 4).map((x) => [`net.ipv4.conf.${x.name}.rp_filter`, '2']));
    const r = await walk(this.pieces, {
      tunnels: { tunnels: plan.tunnels, prune },
      ...(plan.fouPorts.length || prune
        ? { fou: { want: plan.fouPorts, managed: this.config.overlay ? [this.config.overlay.port] : [] } }
        : {}),
      routes: { routes: plan.routes, prune },
      ...(plan.rules.length || prune ? { rules: plan.rules } : {}),
      'tunnel-sysctls': rpFilter,
    });
    const t = r.tunnels!;
    if (t.created.length || t.recreated.length || t.removed.length) this.log.info({ ...t }, 'overlay tunnels updated');
    if (r.fou?.length) this.log.info({ fou: r.fou }, 'GUE ports updated');
    const changes = r.routes!;
    if (changes.added.length || changes.replaced.length || changes.removed.length)
      this.log.info({ added: changes.added, replaced: changes.replaced, removed: changes.removed }, 'kernel routes updated');
    if (r.rules && (r.rules.added.length || r.rules.removed.length)) this.log.info({ ...r.rules }, 'policy rules updated');
    if (r['tunnel-sysctls']?.length) this.log.debug({ sysctls: r['tunnel-sysctls'] }, 'rp_filter set on tunnels');
    this.routesSysctls = rpFilter;
    return changes;
  }

  /** The network policy firewall: its sets, then its chains (see firewall.ts). */
  async reconcileFirewall(render: FirewallRender): Promise<FirewallResult> {
    const nftables = this.config.useNftablesForNetpol;
    const r = await walk(this.pieces, { firewall: { families: this.families(), render, forwardJump: !this.config.runRouter, nftables } });
    // With nftables, iptables and ipset hold nothing of the firewall (a leftover counts as drift).
    this.firewallWant = nftables ? { sets: [], iptables: [], nft: r.firewall!.lines } : { sets: render.sets, iptables: r.firewall!.lines };
    return r.firewall!;
  }

  /** --nodeport-bindon-all-ip: the addresses of this node's interfaces that node ports listen on. */
  async nodePortAddresses(): Promise<string[]> {
    const links = await this.rtnl.links();
    const addresses = await this.rtnl.addresses();
    return nodePortAddresses(links, addresses, this.config);
  }

  /** Counters and rates of every IPVS virtual server (the per-service metrics). */
  /** Real servers draining at weight 0 (their end is checked by a services run). */
  draining(): number {
    return this.drain?.size ?? 0;
  }

  ipvsStats(): Promise<Map<string, IpvsStats>> {
    return new Ipvs(this.run).stats();
  }

  /**
   * The service proxy: modules once, sysctls, kube-dummy-if holding the VIPs, the IPVS table,
   * then the SNAT rules. Virtual servers are ours when their address is a VIP (now or before),
   * a node IP or in --service-cluster-ip-range; others' are left alone.
   */
  async reconcileServices(d: ServicesDataPlane): Promise<ServicesChanges> {
    if (!this.proxyReady) {
      const loaded = await ensureModules(['ip_vs', 'br_netfilter'], this.run);
      if (loaded.length) this.log.info({ modules: loaded }, 'loaded kernel modules');
      this.proxyReady = true;
    }
    const dsr = d.virtualServers.filter((v) => v.fwmark);
    const dsrModules = [
      ...(dsr.some((v) => v4(v.address)) ? ['ipip'] : []),
      ...(dsr.some((v) => !v4(v.address)) ? ['ip6_tunnel'] : []),
    ].filter((m) => !this.dsrModules.has(m));
    if (dsrModules.length) {
      // The endpoint pods' tunnel devices: IPIP, and ip6ip6 for IPv6.
      const loaded = await ensureModules(dsrModules, this.run);
      if (loaded.length) this.log.info({ modules: loaded }, 'loaded kernel modules');
      for (const m of dsrModules) this.dsrModules.add(m);
    }
    const uplinkMtu = dsr.length ? ((await this.interfaces(d.nodeIps[0])).uplinkMtu ?? 1500) : 1500;
    const sysctls = serviceProxySysctls(this.config.ipv6);
    const first = await walk(this.pieces, { sysctls, 'kube-dummy-if': d.vips });
    if (first.sysctls?.length) this.log.info({ sysctls: first.sysctls }, 'service proxy sysctls set');
    const link = first['kube-dummy-if']!;
    const vips = new Set(d.vips);
    // VIPs just taken off kube-dummy-if: their virtual servers are still ours to remove.
    const previous = new Set(link.removed.map((c) => c.split('/')[0]!));
    const nodeIps = new Set([...d.nodeIps, ...(d.nodePortIps ?? []), ...this.nodePortIpsBefore]);
    const ranges = this.config.serviceClusterIpRanges;
    const excluded = this.config.excludedCidrs;
    const owned = (s: IpvsService): boolean =>
      s.fwmark !== undefined
        ? isDsrMark(s.fwmark)
        : (vips.has(s.address) || previous.has(s.address) || nodeIps.has(s.address) || inPrefixes(s.address, ranges)) &&
          !inPrefixes(s.address, excluded);
    const rules = new Map<4 | 6, string[]>();
    const input = new Map<4 | 6, string[]>();
    const mangle = new Map<4 | 6, string[]>();
    const sets: IpSetSpec[] = [];
    for (const f of this.families()) {
      const nodeIp = d.nodeIps.find((ip) => v4(ip) === (f === 4));
      if (!nodeIp) continue;
      const podCidrs = d.podCidrs.filter((c) => v4(c) === (f === 4));
      const hairpin = hairpinRules(
        d.virtualServers.filter((v) => v.hairpin && !v.fwmark && v4(v.address) === (f === 4)),
        podCidrs,
      );
      rules.set(f, [...hairpin, ...ipvsSnatRules({ nodeIp, podCidrs, masqueradeAll: this.config.masqueradeAll })]);
      // --ipvs-permit-all: the service IPs of kube-dummy-if (not node IPs) and their ports.
      const family = f === 4 ? 'inet' : 'inet6';
      const name = (n: string): string => (f === 4 ? n : v6Name(n));
      const onVips = d.virtualServers.filter((v) => vips.has(v.address) && v4(v.address) === (f === 4));
      sets.push(
        { name: name(SVIP), type: 'hash:ip', family, members: [...new Set(onVips.map((v) => v.address))] },
        {
          name: name(SVIP_PORTS),
          type: 'hash:ip,port',
          family,
          members: [...new Set(onVips.map((v) => `${v.address},${v.protocol}:${v.port}`))],
        },
      );
      input.set(f, this.config.ipvsPermitAll ? permitAllRules(f) : []);
      mangle.set(
        f,
        dsrMangleRules(
          dsr.filter((v) => v4(v.address) === (f === 4)),
          uplinkMtu,
          BRIDGE,
        ),
      );
    }
    const r = await walk(this.pieces, {
      ipsets: sets,
      'dsr-routing': { marks: dsr.map((v) => ({ family: ipFamily(v.address), fwmark: v.fwmark! })) },
      ipvs: {
        virtualServers: d.virtualServers,
        owned,
        timeouts: this.config.ipvsTimeouts,
        ...(this.drain ? { drain: { drain: this.drain, podPeriod: d.podPeriod } } : {}),
      },
      'service-iptables': { nat: rules, input, mangle },
      'pod-tunnels': d.podTunnels ?? [],
    });
    this.servicesWant = { sysctls, virtualServers: d.virtualServers, owned, iptables: r['service-iptables'], sets };
    this.nodePortIpsBefore = new Set(d.nodePortIps ?? []);
    return { ...r.ipvs!, vipsAdded: link.added, vipsRemoved: link.removed, dsr: r['dsr-routing']!, podTunnels: r['pod-tunnels']! };
  }

  /**
   * The once-a-second check for what the kernel sends no events about: sysctls (read from
   * /proc), ipsets and the IPVS table, each against what our last run made, read through one
   * long-lived shell (no fork of the agent). iptables is read too, but where nftables announces
   * changes only after one (see nft-events.ts). Returns the loops to run.
   */
  async drifted(): Promise<Set<Loop>> {
    const loops = new Set<Loop>();
    const sysctlsDiffer = (want: Record<string, string>): boolean => Object.entries(want).some(([k, v]) => this.sysctls.read(k) !== v);
    if (sysctlsDiffer(this.routesSysctls)) loops.add('routes');
    const setup = this.setupWant;
    const services = this.servicesWant;
    const firewall = this.firewallWant;
    if (!setup && !services && !firewall) return loops;
    const families = this.families();
    const readIptables =
      !this.nft ||
      this.iptablesChanged ||
      setup?.iptables === undefined ||
      (services !== undefined && services.iptables === undefined) ||
      (firewall !== undefined && firewall.iptables === undefined);
    // Cleared before reading: a change announced while the shell reads is read next time.
    this.iptablesChanged = false;
    const readNft = !!firewall?.nft && readIptables;
    const commands: string[][] = [
      ...(setup || firewall || services ? [['ipset', 'save']] : []),
      ...(services ? [['ipvsadm', '-Sn']] : []),
      ...(readIptables ? families.map(saveCommand) : []),
      // The firewall's nftables tables: read when iptables is (an nftables event covers both).
      ...(readNft ? families.map(nftListCommand) : []),
    ];
    const out = await this.probe.run(commands).catch((e: unknown) => {
      if (readIptables) this.iptablesChanged = true;
      throw e;
    });
    const ipset = setup || firewall || services ? out.shift()! : undefined;
    const ipvs = services ? out.shift()! : undefined;
    // A command that failed tells nothing (and its loop would fail the same way): not drift.
    if (ipvs && ipvs.code !== 0) this.servicesCheckFailed();
    const saves = readIptables ? out.splice(0, families.length) : [];
    const iptables =
      readIptables && saves.every((r) => r.code === 0) ? families.flatMap((f, i) => ourLines(f, saves[i]!.stdout)).sort() : undefined;
    if (readIptables && !iptables) this.iptablesChanged = true;
    const same = (a: string[] | undefined, b: string[] | undefined): boolean => !a || (!!b && sameLines(a, b));
    if (setup) {
      const ipt = iptables?.filter((l) => !isServicesLine(l) && !isFirewallLine(l));
      const sets = ipset?.code === 0 ? differingSets(ipset.stdout, setup.sets).length > 0 : false;
      if (sysctlsDiffer(setup.sysctls) || !same(ipt, setup.iptables) || sets) loops.add('setup');
    }
    if (firewall) {
      const ipt = iptables?.filter(isFirewallLine);
      const sets = ipset?.code === 0 ? differingSets(ipset.stdout, firewall.sets).length > 0 : false;
      // A table gone is drift; nft missing (127: the shell found no such command) says nothing.
      const tables =
        readNft && out.every((r) => r.code !== 127)
          ? families.flatMap((f, i) => (out[i]!.code === 0 ? nftLines(f, out[i]!.stdout) : []))
          : undefined;
      if (!same(ipt, firewall.iptables) || sets || !same(tables, firewall.nft)) loops.add('firewall');
    }
    if (services) {
      const ipt = iptables?.filter(isServicesLine);
      const table =
        ipvs?.code === 0
          ? planIpvs(parseIpvsSave(ipvs.stdout), this.drain?.keep(services.virtualServers) ?? services.virtualServers, services.owned)
              .script.length > 0
          : false;
      const sets = ipset?.code === 0 ? differingSets(ipset.stdout, services.sets).length > 0 : false;
      if (table || sets || sysctlsDiffer(services.sysctls) || !same(ipt, services.iptables)) loops.add('services');
    }
    return loops;
  }

  private servicesCheckFailed(): void {
    if (this.warnedIpvs) return;
    this.warnedIpvs = true;
    this.log.warn({}, 'cannot read the IPVS table for the drift check (ipvsadm -Sn failed); the services loop reports why');
  }

  /** Routes in the kernel (all tables, both families) counted by protocol, iproute2's names where it has one. */
  async kernelRouteCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const [protocol, n] of await this.rtnl.routeCountsByProtocol()) {
      const name = protocolName(protocol);
      counts[name] = (counts[name] ?? 0) + n;
    }
    return counts;
  }

  /** Our tunnels now: name, endpoints, encapsulation, MTU. */
  tunnelStatus(): Promise<TunnelView[]> {
    return this.tunnelsView.describe();
  }

  /** Our routes in the kernel now. */
  async installedRoutes(): Promise<{ dst: string; gateway?: string; dev?: string; table?: number }[]> {
    const names = new Map((await this.rtnl.links()).map((l) => [l.index, l.name]));
    return (await this.routesView.current()).map((r) => ({
      dst: r.dst,
      ...(r.gateway ? { gateway: r.gateway } : {}),
      ...(r.oif !== undefined && !r.gateway ? { dev: names.get(r.oif) ?? String(r.oif) } : {}),
      ...(r.table !== MAIN_TABLE ? { table: r.table } : {}),
    }));
  }

  /**
   * One read of links and addresses: the subnets on the node's own interfaces (not loopback, not
   * kube-bridge; learned next hops must be in one) and the MTU of the interface holding `nodeIp`.
   */
  async interfaces(nodeIp: string | undefined): Promise<{ connected: string[]; uplinkMtu?: number }> {
    const [links, addresses] = [await this.rtnl.links(), await this.rtnl.addresses()];
    const byIndex = new Map(links.map((l) => [l.index, l]));
    const connected: string[] = [];
    let uplinkMtu: number | undefined;
    for (const a of addresses) {
      const ip = a.cidr.split('/')[0];
      if (ip === nodeIp) uplinkMtu = byIndex.get(a.index)?.mtu;
      const name = byIndex.get(a.index)?.name;
      if (name === 'lo' || name === BRIDGE || a.cidr.startsWith('fe80')) continue;
      connected.push(networkOf(a.cidr));
    }
    return uplinkMtu === undefined ? { connected } : { connected, uplinkMtu };
  }

  /**
   * Calls `onLoops` when the kernel reports a change to something a loop owns (drift repair; see
   * kernel-events.ts), and `onRulesChanged` when nftables reports a ruleset change (anyone's):
   * the caller then runs `drifted()` early instead of at its next tick.
   */
  watchKernel(onLoops: (loops: Set<Loop>) => void, onRulesChanged: () => void): void {
    this.watch = new KernelWatch(this.config.ipv6, onLoops, (err) =>
      this.log.warn({ err: err.message }, 'kernel events lost (netlink receive error); checking everything'),
    );
    // Events come only where iptables writes through nf_tables; iptables-legacy is read every second.
    this.nft = NftWatch.open(() => {
      this.iptablesChanged = true;
      onRulesChanged();
    });
    for (const [socket, why] of [
      ['rtnetlink', this.rtnl.unhardened],
      ['kernel events', this.watch.unhardened],
      ['nftables events', this.nft?.unhardened],
    ] as const)
      if (why)
        this.log.warn(
          { socket, err: why },
          'netlink socket not protected against receive overruns: a burst of kernel events can end the process',
        );
    this.run('iptables', ['-V'], { allowFail: true }).then(
      (r) => {
        if (/nf_tables/.test(r.stdout)) return;
        this.nft?.close();
        this.nft = undefined;
        this.log.info({ iptables: r.stdout.trim() }, 'iptables is not on nf_tables: it is read at every drift check');
      },
      () => undefined,
    );
    this.rtnl.links().then(
      (links) => this.watch?.setNames(links),
      (e: Error) => this.log.warn({ err: e.message }, 'cannot list links for the kernel event watch'),
    );
  }

  close(): void {
    this.watch?.close();
    this.nft?.close();
    this.probe.close();
    this.rtnl.close();
  }
}
