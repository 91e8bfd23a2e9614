/**
 * What the kernel should hold for the routes BGP learned, as kube-router decides it: a remote
 * node on one of our subnets gets a plain route via its IP; with --enable-overlay, a node in
 * another subnet (--overlay-type subnet) or every node (full) gets an IP-in-IP tunnel, the
 * route to its pod CIDR over the tunnel with our node IP as source, a route to the node itself
 * over the tunnel in table 77, and "from <our pod CIDR> lookup 77". Anything else gets no
 * route from us (a router that carries it must). Pure: no I/O.
 */
import ipaddr from 'ipaddr.js';
import { inSubnets } from '../util/cidr';
import type { DesiredRoute } from '../dataplane/routes';
import { DesiredTunnel, Encap, tunnelName, tunnelOverhead } from '../dataplane/tunnels';
import { DesiredRule, OVERLAY_TABLE } from '../dataplane/rules';
import type { FouPort } from '../dataplane/fou';

export interface LearnedRoute {
  prefix: string;
  nextHop: string;
}

export interface PlanInput {
  learned: readonly LearnedRoute[];
  ownPodCidrs: readonly string[];
  /** Subnets on this node's interfaces (not kube-bridge). */
  connected: readonly string[];
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
}

const family = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);

export function planKernel(i: PlanInput): KernelPlan {
  const plan: KernelPlan = { routes: [], tunnels: [], rules: [], fouPorts: [], unreachable: [] };
  const own = new Set(i.ownPodCidrs);
  const tunnels = new Map<string, DesiredTunnel>();
  const hostRoutes = new Set<string>();
  for (const r of i.learned) {
    if (own.has(r.prefix) || !ipaddr.isValid(r.nextHop)) continue;
    const nh = ipaddr.parse(r.nextHop).toString();
    const f = family(nh);
    const sameSubnet = inSubnets(nh, i.connected);
    const localIp = f === 4 ? i.local.ipv4 : i.local.ipv6;
    const tunnel = i.overlay && localIp && i.nodeIps.has(nh) && (i.overlay.type === 'full' || !sameSubnet);
    if (tunnel && i.overlay && localIp) {
      const name = tunnelName(nh);
      if (!tunnels.has(name)) {
        tunnels.set(name, { name, family: f, local: localIp, remote: nh, encap: i.overlay.encap, port: i.overlay.port, mtu: i.uplinkMtu - tunnelOverhead(f, i.overlay.encap) });
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
    for (const c of i.ownPodCidrs) if (family(c.split('/')[0]!) === f) plan.rules.push({ family: f, src: c, table: OVERLAY_TABLE });
    if (i.overlay?.encap === 'fou') plan.fouPorts.push({ port: i.overlay.port, family: f });
  }
  return plan;
}
