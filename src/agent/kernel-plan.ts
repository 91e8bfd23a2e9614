/**
 * What the kernel should hold for the routes BGP learned, as kube-router decides it: a remote
 * node on one of our subnets gets a plain route via its IP; with --enable-overlay, a node in
 * another subnet (--overlay-type subnet) or every node (full) gets an IP-in-IP tunnel, the
 * route to its pod CIDR over the tunnel with our node IP as source, a route to the node itself
 * over the tunnel in table 77, and "from <our pod CIDR> lookup 77". Anything else gets no
 * route from us (a router that carries it must). A learned route never takes over what the node
 * itself owns (kube-router #584): a prefix equal to or inside a subnet on its interfaces, its own
 * pod CIDRs or the service cluster IP range is refused, with the reason. Pure: no I/O.
 */
import { canonicalIp, ipFamily, isIp, prefixList, type PrefixList } from '../../net';
import type { DesiredRoute } from '../dataplane/routes';
import { DesiredTunnel, Encap, tunnelName, tunnelOverhead } from '../dataplane/tunnels';
import { DesiredRule, OVERLAY_TABLE } from '../dataplane/rules';
import type { FouPort } from '../dataplane/fou';

export interface LearnedRoute {
  prefix: string;
  nextHop: string;
  /** The neighbour it was learned from. */
  peer?: string;
}

/** A learned route kept out of the kernel, and why. */
export interface RefusedRoute {
  prefix: string;
  peer?: string;
  reason: string;
}

export interface PlanInput {
  learned: readonly LearnedRoute[];
  ownPodCidrs: readonly string[];
  /** Subnets on this node's interfaces (not kube-bridge). */
  connected: readonly string[];
  /** --service-cluster-ip-range: learned routes inside it are refused. */
  serviceRanges?: readonly string[];
  /** Every node's IPs: only nodes get tunnels. */
  nodeIps: ReadonlySet<string>;
  local: { ipv4?: string; ipv6?: string };
  overlay?: { type: 'subnet' | 'full'; encap: Encap; port: number };
  /** MTU of the interface holding the node IP; tunnels get it minus their overhead. */
  uplinkMtu: number;
}

export interface KernelPlan {
  routes: DesiredRoute[];
  tunnels: DesiredTunnel[];
  rules: DesiredRule[];
  fouPorts: FouPort[];
  /** Learned prefixes we install nothing for (next hop neither on our subnets nor tunnelled). */
  unreachable: string[];
  /** Learned prefixes that would take over the node's own addresses or ranges. */
  refused: RefusedRoute[];
}

/** What the node owns, parsed once per plan (thousands of learned routes are checked against it). */
interface Owned {
  own: PrefixList;
  connected: PrefixList;
  service: PrefixList;
}

/** Why a learned prefix must not be installed on this node, or undefined when it may be. */
function protectedBy(prefix: string, o: Owned): string | undefined {
  const own = o.own.containing(prefix);
  if (own) return `inside this node's pod CIDR ${own}`;
  const connected = o.connected.containing(prefix);
  if (connected) return `inside ${connected}, a subnet on this node's interfaces`;
  const service = o.service.containing(prefix);
  if (service) return `inside the service cluster IP range ${service}`;
  return undefined;
}

export function planKernel(i: PlanInput): KernelPlan {
  const plan: KernelPlan = { routes: [], tunnels: [], rules: [], fouPorts: [], unreachable: [], refused: [] };
  const tunnels = new Map<string, DesiredTunnel>();
  const hostRoutes = new Set<string>();
  const owned: Owned = { own: prefixList(i.ownPodCidrs), connected: prefixList(i.connected), service: prefixList(i.serviceRanges ?? []) };
  for (const r of i.learned) {
    if (!isIp(r.nextHop)) continue;
    const reason = protectedBy(r.prefix, owned);
    if (reason) {
      plan.refused.push({ prefix: r.prefix, ...(r.peer ? { peer: r.peer } : {}), reason });
      continue;
    }
    const nh = canonicalIp(r.nextHop);
    const f = ipFamily(nh);
    const sameSubnet = owned.connected.containing(nh) !== undefined;
    const localIp = f === 4 ? i.local.ipv4 : i.local.ipv6;
    const tunnel = i.overlay && localIp && i.nodeIps.has(nh) && (i.overlay.type === 'full' || !sameSubnet);
    if (tunnel && i.overlay && localIp) {
      const name = tunnelName(nh);
      if (!tunnels.has(name)) {
        tunnels.set(name, {
          name,
          family: f,
          local: localIp,
          remote: nh,
          encap: i.overlay.encap,
          port: i.overlay.port,
          mtu: i.uplinkMtu - tunnelOverhead(f, i.overlay.encap),
        });
      }
      plan.routes.push({ dst: r.prefix, dev: name, src: localIp });
      const host = `${nh}/${f === 4 ? 32 : 128}`;
      if (!hostRoutes.has(host)) {
        hostRoutes.add(host);
        plan.routes.push({ dst: host, dev: name, table: OVERLAY_TABLE });
      }
    } else if (sameSubnet) {
      plan.routes.push({ dst: r.prefix, gateway: nh });
    } else {
      plan.unreachable.push(r.prefix);
    }
  }
  plan.tunnels = [...tunnels.values()];
  for (const f of [4, 6] as const) {
    if (!plan.tunnels.some((t) => t.family === f)) continue;
    for (const c of i.ownPodCidrs) if (ipFamily(c) === f) plan.rules.push({ family: f, src: c, table: OVERLAY_TABLE });
    if (i.overlay?.encap === 'fou') plan.fouPorts.push({ port: i.overlay.port, family: f });
  }
  return plan;
}
