/**
 * The data path as one ordered list of reconcilers under one contract: a name, `reconcile`
 * (make the kernel hold exactly the desired state of its kind; idempotent) and `cleanup`
 * (remove everything of its kind this agent made; safe when there is none). ORDER is the order
 * of creation: the agent's loops reconcile their pieces in it (sysctls before the bridge, the
 * ipsets before the iptables rules that match them, tunnels before the routes through them,
 * kube-dummy-if before IPVS), and --cleanup-config walks it backwards.
 */
import fs from 'node:fs';
import type { Runner } from '../util/exec';
import { BridgeReconciler } from './bridge';
import { reconcileCniConfig, type CniSettings } from './cni';
import { DummyReconciler } from './dummy';
import { reconcileFouPorts, type FouPort } from './fou';
import { IpSets, NODE_IPS, POD_SUBNETS, v6Name, type IpSetSpec } from './ipsets';
import { Iptables, SVIP, SVIP_PORTS, type Family, type IptablesSettings } from './iptables';
import { Firewall, type FirewallDesired, type FirewallResult } from './firewall';
import { NftFirewall } from './firewall-nft';
import { Ipvs, type IpvsChanges, type IpvsService, type IpvsTimeouts } from './ipvs';
import type { IpvsDrain, PodPeriod } from './ipvs-drain';
import type { OwnedLinkChanges } from './links';
import { RouteReconciler, type DesiredRoute, type RouteChanges, type RouteEchoes } from './routes';
import type { Rtnl } from './rtnl';
import { RuleReconciler, type DesiredRule } from './rules';
import { DsrRoutingReconciler, type DsrRouting, type DsrRoutingChanges } from './dsr-routing';
import { PodTunnels, type PodTunnelChanges, type PodTunnelWant } from './pod-tunnels';
import { containerPid } from './cri';
import { reconcileSysctls, type Sysctls } from './sysctl';
import { TunnelReconciler, type DesiredTunnel, type TunnelChanges } from './tunnels';

export interface Reconciler<D, R> {
  readonly name: PieceName;
  reconcile(desired: D): Promise<R>;
  /** What it removed, in words for the operator (empty: nothing was there). */
  cleanup(): Promise<string[]>;
}

export const ORDER = [
  'sysctls',
  'kube-bridge',
  'cni',
  'ipsets',
  'firewall',
  'iptables',
  'tunnels',
  'fou',
  'routes',
  'rules',
  'tunnel-sysctls',
  'kube-dummy-if',
  'dsr-routing',
  'ipvs',
  'service-iptables',
  'pod-tunnels',
] as const;
export type PieceName = (typeof ORDER)[number];

/** What each piece takes and returns. */
export interface Pieces {
  sysctls: Reconciler<Record<string, string>, string[]>;
  'kube-bridge': Reconciler<{ podCidrs: readonly string[]; mtu?: number }, { created: boolean; addressesChanged: boolean }>;
  cni: Reconciler<CniSettings, boolean>;
  ipsets: Reconciler<readonly IpSetSpec[], string[]>;
  /** Network policy: its sets and chains (before the setup chain that jumps into it). */
  firewall: Reconciler<FirewallDesired, FirewallResult>;
  iptables: Reconciler<{ families: readonly Family[]; settings: IptablesSettings }, string[] | undefined>;
  tunnels: Reconciler<{ tunnels: readonly DesiredTunnel[]; prune: boolean }, TunnelChanges>;
  /** The GUE ports wanted, among the ports this agent manages (others' are left alone). */
  fou: Reconciler<{ want: readonly FouPort[]; managed: readonly number[] }, string[]>;
  routes: Reconciler<{ routes: readonly DesiredRoute[]; prune: boolean }, RouteChanges>;
  rules: Reconciler<readonly DesiredRule[], { added: string[]; removed: string[] }>;
  /** rp_filter on the tunnels, once they exist. */
  'tunnel-sysctls': Reconciler<Record<string, string>, string[]>;
  'kube-dummy-if': Reconciler<readonly string[], OwnedLinkChanges>;
  ipvs: Reconciler<
    {
      virtualServers: readonly IpvsService[];
      owned: (s: IpvsService) => boolean;
      timeouts?: IpvsTimeouts;
      drain?: { drain: IpvsDrain; podPeriod?: PodPeriod };
    },
    IpvsChanges
  >;
  /** The SNAT rules, the --ipvs-permit-all rules and the DSR marks, per family. */
  'service-iptables': Reconciler<
    {
      nat: ReadonlyMap<Family, readonly string[]>;
      input: ReadonlyMap<Family, readonly string[]>;
      mangle: ReadonlyMap<Family, readonly string[]>;
    },
    string[] | undefined
  >;
  /** DSR: "fwmark M lookup 78" and table 78's local default route. */
  'dsr-routing': Reconciler<DsrRouting, DsrRoutingChanges>;
  /** DSR: the tunnel device inside each local endpoint pod. */
  'pod-tunnels': Reconciler<readonly PodTunnelWant[], PodTunnelChanges>;
}

/** Desired state for some of the pieces (a loop's share). */
export type Plan = { [P in PieceName]?: Parameters<Pieces[P]['reconcile']>[0] };
export type Results = { [P in PieceName]?: Awaited<ReturnType<Pieces[P]['reconcile']>> };

/** The GUE port kube-router uses (--overlay-encap=fou without a port of its own). */
export const DEFAULT_FOU_PORT = 5555;

export interface PieceDeps {
  rtnl: Rtnl;
  run: Runner;
  sysctls: Sysctls;
  cniConfPath: string;
  /** The GUE port this agent manages (--overlay-encap=fou). */
  fouPort: number;
  /** Told of each route change we make (see KernelWatch.echoes). */
  routeEchoes?: RouteEchoes;
  /** --runtime-endpoint: the CRI socket DSR finds pods' namespaces through ('' : none). */
  runtimeEndpoint?: string;
}

const piece = <N extends PieceName>(name: N, p: Omit<Pieces[N], 'name'>): Pieces[N] => ({ name, ...p }) as Pieces[N];
const said = (what: string, items: readonly string[]): string[] => (items.length ? [`${what} ${items.join(', ')}`] : []);

export function makePieces(d: PieceDeps): Pieces {
  const bridge = new BridgeReconciler(d.rtnl);
  const ipsets = new IpSets(d.run);
  const iptables = new Iptables(d.run);
  const firewall = new Firewall(d.run, ipsets);
  const nftFirewall = new NftFirewall(d.run);
  /** The firewall backend the last run wrote: on a switch the other one's rules are removed first. */
  let firewallBackend: 'iptables' | 'nftables' | undefined;
  const tunnels = new TunnelReconciler(d.rtnl);
  const routes = new RouteReconciler(d.rtnl, undefined, d.routeEchoes);
  const rules = new RuleReconciler(d.rtnl);
  const dummy = new DummyReconciler(d.rtnl);
  const ipvs = new Ipvs(d.run);
  const dsrRouting = new DsrRoutingReconciler(d.rtnl, d.run);
  const podTunnels = new PodTunnels(d.run, (id) => {
    if (!d.runtimeEndpoint) return Promise.reject(new Error('DSR needs --runtime-endpoint (the CRI socket) to find the pod'));
    return containerPid(d.runtimeEndpoint, id);
  });
  return {
    sysctls: piece('sysctls', { reconcile: async (want) => reconcileSysctls(want, d.sysctls), cleanup: async () => [] }),
    'kube-bridge': piece('kube-bridge', {
      reconcile: (w) => bridge.reconcile(w.podCidrs, w.mtu),
      cleanup: async () => ((await bridge.remove()) ? ['kube-bridge'] : []),
    }),
    cni: piece('cni', {
      reconcile: async (s) => reconcileCniConfig(d.cniConfPath, s),
      cleanup: async () => {
        if (!fs.existsSync(d.cniConfPath)) return [];
        fs.rmSync(d.cniConfPath);
        return [d.cniConfPath];
      },
    }),
    ipsets: piece('ipsets', {
      reconcile: (specs) => ipsets.reconcile(specs),
      cleanup: async () => {
        const present: string[] = [];
        for (const n of [POD_SUBNETS, NODE_IPS, SVIP, SVIP_PORTS])
          for (const s of [n, v6Name(n)]) if (await ipsets.exists(s)) present.push(s);
        await ipsets.destroy(present);
        return said('ipsets', present);
      },
    }),
    firewall: piece('firewall', {
      reconcile: async (w) => {
        const result = await (w.nftables ? nftFirewall.reconcile(w) : firewall.reconcile(w));
        // The other backend's rules go once this one is in place (never a moment without a
        // firewall); until that succeeds, every run tries again.
        const backend = w.nftables ? 'nftables' : 'iptables';
        if (firewallBackend !== backend) await (w.nftables ? firewall.cleanup([4, 6]) : nftFirewall.cleanup([4, 6]));
        firewallBackend = backend;
        return result;
      },
      cleanup: async () => {
        firewallBackend = undefined;
        return [...(await firewall.cleanup([4, 6])), ...(await nftFirewall.cleanup([4, 6]))];
      },
    }),
    // Both groups of chains go with the first of them (walked backwards: service-iptables).
    iptables: piece('iptables', { reconcile: (w) => iptables.reconcile(w.families, w.settings), cleanup: async () => [] }),
    tunnels: piece('tunnels', {
      reconcile: (w) => tunnels.reconcile(w.tunnels, w.prune),
      cleanup: async () => said('tunnels', (await tunnels.reconcile([])).removed),
    }),
    fou: piece('fou', {
      reconcile: (w) => reconcileFouPorts(w.want, w.managed, d.run),
      cleanup: async () => ((await reconcileFouPorts([], [d.fouPort], d.run)).length ? [`GUE port ${d.fouPort}`] : []),
    }),
    routes: piece('routes', {
      reconcile: (w) => routes.reconcile(w.routes, w.prune),
      cleanup: async () => {
        const removed = (await routes.reconcile([])).removed.length;
        return removed ? [`${removed} routes`] : [];
      },
    }),
    'tunnel-sysctls': piece('tunnel-sysctls', { reconcile: async (want) => reconcileSysctls(want, d.sysctls), cleanup: async () => [] }),
    rules: piece('rules', {
      reconcile: (want) => rules.reconcile(want),
      cleanup: async () => said('rules', (await rules.reconcile([])).removed),
    }),
    'kube-dummy-if': piece('kube-dummy-if', {
      reconcile: (vips) => dummy.reconcile(vips),
      cleanup: async () => ((await dummy.remove()) ? ['kube-dummy-if'] : []),
    }),
    ipvs: piece('ipvs', {
      reconcile: async (w) => {
        const set = w.timeouts ? await ipvs.ensureTimeouts(w.timeouts) : false;
        const changes = await ipvs.reconcile(w.virtualServers, w.owned, w.drain);
        return set ? { ...changes, timeouts: w.timeouts } : changes;
      },
      // Virtual servers on this host's own addresses (VIPs, node ports) are the proxy's, as
      // kube-router's cleanup assumes; the table is read only when the module is loaded already.
      cleanup: async () => {
        if (!fs.existsSync('/proc/net/ip_vs')) return [];
        const local = new Set((await d.rtnl.addresses()).map((a) => a.cidr.split('/')[0]));
        return said('IPVS services', (await ipvs.reconcile([], (v) => local.has(v.address))).removed);
      },
    }),
    'dsr-routing': piece('dsr-routing', {
      reconcile: (w) => dsrRouting.reconcile(w),
      cleanup: async () => {
        const r = await dsrRouting.reconcile({ marks: [] });
        return [...said('rules', r.rules.removed), ...(r.localRemoved.length ? [`table 78's local routes`] : [])];
      },
    }),
    'pod-tunnels': piece('pod-tunnels', {
      reconcile: (w) => podTunnels.reconcile(w),
      // The devices live in the pods' namespaces and go with them.
      cleanup: async () => [],
    }),
    'service-iptables': piece('service-iptables', {
      reconcile: (w) => iptables.reconcileServices(w.nat, w.input, w.mangle),
      cleanup: async () => said('iptables chains', await iptables.cleanup([4, 6])),
    }),
  };
}

/** Reconciles the pieces `plan` names, in ORDER; returns each one's result. */
export async function walk(pieces: Pieces, plan: Plan): Promise<Results> {
  const out: Record<string, unknown> = {};
  for (const name of ORDER) {
    const desired = plan[name];
    if (desired !== undefined) out[name] = await (pieces[name] as Reconciler<unknown, unknown>).reconcile(desired);
  }
  return out as Results;
}

/** --cleanup-config: every piece's cleanup, in reverse ORDER; what was removed. */
export async function cleanupAll(pieces: Pieces): Promise<string[]> {
  const done: string[] = [];
  for (const name of [...ORDER].reverse()) done.push(...(await pieces[name].cleanup()));
  return done;
}
