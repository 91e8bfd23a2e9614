/**
 * Service proxy controller: the IPVS virtual servers this node must have, and the VIPs that go
 * on kube-dummy-if, from Services and EndpointSlices (kube-router's network services
 * controller, replacing kube-proxy). Pure: no I/O.
 *
 * Per service port: the cluster IP(s), each external IP and load-balancer ingress IP, and
 * the node IPs at the node port, each a virtual server with the service's ready endpoints as
 * real servers (NAT, "Masq"). externalTrafficPolicy Local keeps only this node's endpoints for
 * node ports, external and LB IPs; internalTrafficPolicy Local does the same for cluster IPs.
 * The scheduler comes from kube-router.io/service.scheduler (rr by default), persistence from
 * sessionAffinity ClientIP. External and LB IPs pass --strict-external-ip-validation first (as
 * for advertisement: service-ip-filter.ts). Hairpin (a pod reaching itself through its service) is per service
 * (kube-router.io/service.hairpin) or for all (--hairpin-mode), as in kube-router: for cluster IPs
 * and node ports, external IPs with kube-router.io/service.hairpin.externalips too.
 */
import { canonicalIp, hostPort, ipFamily as family, isIp } from '../net';
import { ANNOTATIONS } from './annotations';
import { dsrMarks, markText } from './dsr';
import type { Problems } from './problems';
import { filterServiceIps, type ServiceIpRanges } from './service-ip-filter';
import { SERVICE_NAME_LABEL, type EndpointSliceObject, type ServiceObject } from './services';

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';

export interface RealServer {
  address: string;
  port: number;
  weight: number;
  /** IPVS forwards to it in an IPIP tunnel (DSR), not with NAT. */
  tunnel?: boolean;
}

export interface VirtualServer {
  protocol: IpvsProtocol;
  address: string;
  port: number;
  scheduler: string;
  /** Client-IP affinity timeout, seconds (sessionAffinity: ClientIP). */
  persistence?: number;
  /** IPVS scheduler flags (kube-router.io/service.schedflags, with the mh scheduler): 1, 2, 4 = flag-1..3. */
  schedFlags?: number;
  realServers: RealServer[];
  /** namespace/name:port, for logs and status. */
  service: string;
  kind: 'cluster' | 'nodeport' | 'external' | 'loadbalancer';
  /** Pods may reach themselves through it (kube-router.io/service.hairpin or --hairpin-mode). */
  hairpin: boolean;
  /**
   * DSR (kube-router.io/service.dsr=tunnel, external and LB IPs): IPVS balances this firewall
   * mark, which mangle sets on packets for the address, protocol and port; the address is not
   * put on kube-dummy-if and the real servers are reached through IPIP.
   */
  fwmark?: number;
}

/** A local endpoint of DSR services: inside its pod, the addresses its tunnel device holds. */
export interface PodTunnel {
  podIp: string;
  vips: string[];
}

export interface ProxyOptions extends ServiceIpRanges {
  nodeName: string;
  /** Addresses node ports listen on (kube-router: the node IP of each family). */
  nodeIps: readonly string[];
  ipv4: boolean;
  ipv6: boolean;
  /** --hairpin-mode: every service allows hairpin traffic. */
  hairpinAll: boolean;
}

export interface ProxyDesired {
  virtualServers: VirtualServer[];
  /** Host addresses for kube-dummy-if: cluster, external and LB IPs (never node IPs, never DSR addresses). */
  vips: string[];
  /** Local endpoints of DSR virtual servers (docs/dsr.md), by pod IP. */
  podTunnels: PodTunnel[];
}

/** kube-router's accepted values for kube-router.io/service.scheduler. */
export const SCHEDULERS = ['rr', 'lc', 'dh', 'sh', 'mh'] as const;
/** Kubernetes' default for sessionAffinityConfig.clientIP.timeoutSeconds. */
const DEFAULT_AFFINITY_SECONDS = 10800;

/** "tcp:10.96.0.10:80", "udp:[fd00::10]:53": one virtual server's identity. */
export const virtualServerKey = (v: Pick<VirtualServer, 'protocol' | 'address' | 'port'>): string =>
  `${v.protocol}:${hostPort(v.address, v.port)}`;

/** Byte order, not locale order: the same on every machine. */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Endpoint {
  address: string;
  port: number;
  local: boolean;
}

/** Ready endpoints of one service port, from the service's EndpointSlices, matched by port name and protocol. */
function endpointsFor(
  svc: ServiceObject,
  portName: string,
  protocol: string,
  slices: readonly EndpointSliceObject[],
  nodeName: string,
): Endpoint[] {
  const out = new Map<string, Endpoint>();
  for (const s of slices) {
    if (s.metadata?.namespace !== svc.metadata?.namespace || s.metadata?.labels?.[SERVICE_NAME_LABEL] !== svc.metadata?.name) continue;
    if (s.addressType === 'FQDN') continue;
    const port = (s.ports ?? []).find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
    if (!port?.port) continue;
    for (const e of s.endpoints ?? []) {
      // The API says an unset ready condition means ready.
      if (e.conditions?.ready === false) continue;
      for (const a of e.addresses ?? []) {
        if (!isIp(a)) continue;
        const address = canonicalIp(a);
        out.set(hostPort(address, port.port), { address, port: port.port, local: e.nodeName === nodeName });
      }
    }
  }
  return [...out.values()];
}

export function computeProxy(
  services: readonly ServiceObject[],
  slices: readonly EndpointSliceObject[],
  o: ProxyOptions,
  problems: Problems,
): ProxyDesired {
  const servers = new Map<string, VirtualServer>();
  const vips = new Set<string>();
  const dsrServers: VirtualServer[] = [];
  /** Local DSR endpoint -> the DSR addresses it serves. */
  const tunnels = new Map<string, Set<string>>();
  const wanted = (ip: string): boolean => (family(ip) === 4 ? o.ipv4 : o.ipv6);
  for (const svc of services) {
    const id = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    const spec = svc.spec ?? {};
    const type = spec.type ?? 'ClusterIP';
    if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(type) || !spec.clusterIP || spec.clusterIP === 'None') continue;

    let scheduler = 'rr';
    const schedText = svc.metadata?.annotations?.[ANNOTATIONS.svcScheduler];
    if (schedText !== undefined) {
      if ((SCHEDULERS as readonly string[]).includes(schedText)) scheduler = schedText;
      else
        problems.report(
          `service/${id}`,
          ANNOTATIONS.svcScheduler,
          `${JSON.stringify(schedText)} is not one of ${SCHEDULERS.join(', ')}; using rr`,
        );
    }
    // As kube-router: flags only with the maglev scheduler, whose fallback and port flags they are.
    let schedFlags = 0;
    const flagsText = svc.metadata?.annotations?.[ANNOTATIONS.svcSchedFlags];
    if (flagsText !== undefined && scheduler === 'mh') {
      for (const f of flagsText.split(',').map((x) => x.trim())) {
        const bit = { 'flag-1': 1, 'flag-2': 2, 'flag-3': 4 }[f];
        if (bit) schedFlags |= bit;
        else if (f)
          problems.report(`service/${id}`, ANNOTATIONS.svcSchedFlags, `${JSON.stringify(f)} is not flag-1, flag-2 or flag-3; ignored`);
      }
    }
    // kube-router looks only at the annotation's presence.
    const hairpin = o.hairpinAll || svc.metadata?.annotations?.[ANNOTATIONS.svcHairpin] !== undefined;
    // As kube-router: cluster IPs and node ports; external IPs only when asked; LB IPs never.
    const hairpinExternal = hairpin && svc.metadata?.annotations?.[ANNOTATIONS.svcHairpinExternalIps] !== undefined;
    const hairpinOf = (kind: VirtualServer['kind']): boolean =>
      kind === 'external' ? hairpinExternal : kind === 'loadbalancer' ? false : hairpin;
    const persistence =
      spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : undefined;
    const externalLocal = spec.externalTrafficPolicy === 'Local' || svc.metadata?.annotations?.[ANNOTATIONS.svcLocal] === 'true';
    const internalLocal = spec.internalTrafficPolicy === 'Local' || svc.metadata?.annotations?.[ANNOTATIONS.svcLocal] === 'true';

    const ips = (field: string, list: readonly (string | undefined)[]): string[] =>
      [...new Set(list.filter((x): x is string => !!x))].flatMap((ip) => {
        if (!isIp(ip)) {
          problems.report(`service/${id}`, field, `${JSON.stringify(ip)} is not an IP address`);
          return [];
        }
        const canonical = canonicalIp(ip);
        return wanted(canonical) ? [canonical] : [];
      });
    const clusterIps = ips('spec.clusterIPs', [spec.clusterIP, ...(spec.clusterIPs ?? [])]);
    // --strict-external-ip-validation: an address refused is neither a VIP nor a virtual server here.
    const validated = (kind: 'external' | 'loadbalancer', field: string, list: string[]): string[] =>
      filterServiceIps(kind, list, o, (_ip, why) => problems.report(`service/${id}`, field, `${why}: not proxied`));
    const externalIps = validated('external', 'spec.externalIPs', ips('spec.externalIPs', spec.externalIPs ?? []));
    const lbIps =
      type === 'LoadBalancer'
        ? validated(
            'loadbalancer',
            'status.loadBalancer.ingress',
            ips(
              'status.loadBalancer.ingress',
              (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ipMode !== 'Proxy').map((i) => i.ip),
            ),
          )
        : [];
    const dsrText = svc.metadata?.annotations?.[ANNOTATIONS.svcDsr];
    const dsr = dsrText === 'tunnel';
    if (dsrText !== undefined && !dsr)
      problems.report(
        `service/${id}`,
        ANNOTATIONS.svcDsr,
        `${JSON.stringify(dsrText)} is not "tunnel" (the only DSR mode); proxied with NAT`,
      );
    // A DSR address must not be local on the director (docs/dsr.md): no VIP for it.
    for (const ip of clusterIps) vips.add(ip);
    for (const ip of [...externalIps, ...lbIps]) if (!dsr) vips.add(ip);

    for (const p of spec.ports ?? []) {
      const protocol = (p.protocol ?? 'TCP').toLowerCase();
      if (!['tcp', 'udp', 'sctp'].includes(protocol) || !p.port) {
        problems.report(`service/${id}`, 'spec.ports', `port ${JSON.stringify(p)} has no port number or an unknown protocol`);
        continue;
      }
      const endpoints = endpointsFor(svc, p.name ?? '', p.protocol ?? 'TCP', slices, o.nodeName);
      const add = (address: string, port: number, kind: VirtualServer['kind'], localOnly: boolean): void => {
        const realServers: RealServer[] = endpoints
          .filter((e) => family(e.address) === family(address) && (!localOnly || e.local))
          .map((e) => ({ address: e.address, port: e.port, weight: 1 }))
          .sort((a, b) => byText(hostPort(a.address, a.port), hostPort(b.address, b.port)));
        const v: VirtualServer = {
          protocol: protocol as IpvsProtocol,
          address,
          port,
          scheduler,
          realServers,
          service: `${id}:${p.name || p.port}`,
          kind,
          hairpin: hairpinOf(kind),
        };
        if (persistence !== undefined) v.persistence = persistence;
        if (schedFlags) v.schedFlags = schedFlags;
        const key = virtualServerKey(v);
        if (servers.has(key)) return;
        servers.set(key, v);
        if (!dsr || (kind !== 'external' && kind !== 'loadbalancer')) return;
        dsrServers.push(v);
        for (const r of realServers) r.tunnel = true;
        for (const e of endpoints.filter((x) => x.local && family(x.address) === family(address))) {
          const t = tunnels.get(e.address) ?? new Set<string>();
          tunnels.set(e.address, t.add(address));
        }
      };
      for (const ip of clusterIps) add(ip, p.port, 'cluster', internalLocal);
      for (const ip of externalIps) add(ip, p.port, 'external', externalLocal);
      for (const ip of lbIps) add(ip, p.port, 'loadbalancer', externalLocal);
      // Node ports in the families the Service has cluster IPs in (kube-router: each family on its node IP).
      const families = new Set(clusterIps.map(family));
      if (type !== 'ClusterIP' && p.nodePort)
        for (const ip of o.nodeIps.filter((a) => wanted(a) && families.has(family(a)))) add(ip, p.nodePort, 'nodeport', externalLocal);
    }
  }
  const marks = dsrMarks(dsrServers.map((v) => ({ ip: v.address, protocol: v.protocol, port: v.port })));
  for (const v of dsrServers) v.fwmark = marks.get(markText(v.address, v.protocol, v.port))!;
  return {
    virtualServers: [...servers.values()].sort((a, b) => byText(virtualServerKey(a), virtualServerKey(b))),
    vips: [...vips].sort(byText),
    podTunnels: [...tunnels.entries()]
      .map(([podIp, set]) => ({ podIp, vips: [...set].sort(byText) }))
      .sort((a, b) => byText(a.podIp, b.podIp)),
  };
}
