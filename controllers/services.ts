/**
 * Services controller: which service VIPs this node advertises, as host routes, to external
 * peers. Cluster IPs, external IPs and load-balancer ingress IPs, each by its flag
 * (--advertise-cluster-ip and friends) unless the service's kube-router.io/service.advertise.*
 * annotation says otherwise (kube-router ecmp_vip.go). With externalTrafficPolicy Local (or the
 * service.local annotation), external and LB IPs come only from nodes with a *ready* local
 * endpoint, and with internalTrafficPolicy Local likewise the cluster IP: kube-router looks at
 * any local endpoint (its issue 466); we look at readiness. Pure: no I/O.
 */
import { canonicalIp, hostPrefix, ipFamily, isIp } from '../net';
import { filterServiceIps, type ServiceIpRanges } from './service-ip-filter';
import { ANNOTATIONS, parseBool } from './annotations';
import type { Problems } from './problems';

export interface ServiceObject {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalIPs?: string[];
    externalTrafficPolicy?: string;
    internalTrafficPolicy?: string;
    ports?: { name?: string; protocol?: string; port?: number; targetPort?: number | string; nodePort?: number }[];
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; ipMode?: string }[] } };
}

export interface EndpointSliceObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?: { addresses?: string[]; nodeName?: string; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }[];
  ports?: { name?: string; protocol?: string; port?: number }[];
}

export interface ServicesOptions extends ServiceIpRanges {
  nodeName: string;
  nodeIps: string[];
  advertiseClusterIp: boolean;
  advertiseExternalIp: boolean;
  advertiseLoadBalancerIp: boolean;
  ipv4: boolean;
  ipv6: boolean;
}

export interface AdvertisedVip {
  /** Host prefix: a.b.c.d/32 or x::y/128. */
  prefix: string;
  service: string;
  kind: 'cluster' | 'external' | 'loadbalancer';
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** A ready endpoint of the service on this node (ready unset counts as ready, as the API says). */
export function hasReadyLocalEndpoint(
  svc: ServiceObject,
  slices: readonly EndpointSliceObject[],
  o: Pick<ServicesOptions, 'nodeName' | 'nodeIps'>,
): boolean {
  const ns = svc.metadata?.namespace;
  const name = svc.metadata?.name;
  return slices.some(
    (s) =>
      s.metadata?.namespace === ns &&
      s.metadata?.labels?.[SERVICE_NAME_LABEL] === name &&
      (s.endpoints ?? []).some(
        (e) =>
          e.conditions?.ready !== false &&
          (e.nodeName !== undefined ? e.nodeName === o.nodeName : (e.addresses ?? []).some((a) => o.nodeIps.includes(a))),
      ),
  );
}

export function computeServiceVips(
  services: readonly ServiceObject[],
  slices: readonly EndpointSliceObject[],
  o: ServicesOptions,
  problems: Problems,
): AdvertisedVip[] {
  const out = new Map<string, AdvertisedVip>();
  for (const svc of services) {
    const id = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    const spec = svc.spec ?? {};
    const type = spec.type ?? 'ClusterIP';
    // Headless and ExternalName services have no VIP to advertise.
    if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(type) || !spec.clusterIP || spec.clusterIP === 'None') continue;
    const ann = svc.metadata?.annotations ?? {};
    const flag = (key: string, dflt: boolean): boolean => {
      const text = ann[key];
      if (text === undefined) return dflt;
      const b = parseBool(text);
      if (b.ok) return b.value;
      problems.report(`service/${id}`, key, b.error);
      return dflt;
    };
    const local = (): boolean => hasReadyLocalEndpoint(svc, slices, o);
    const externalLocal = spec.externalTrafficPolicy === 'Local' || ann[ANNOTATIONS.svcLocal] === 'true';
    const internalLocal = spec.internalTrafficPolicy === 'Local' || ann[ANNOTATIONS.svcLocal] === 'true';
    const add = (ips: string[], kind: AdvertisedVip['kind']): void => {
      for (const ip of ips) {
        if (!isIp(ip)) {
          problems.report(`service/${id}`, kind, `${JSON.stringify(ip)} is not an IP address`);
          continue;
        }
        const a = canonicalIp(ip);
        if (ipFamily(a) === 4 ? !o.ipv4 : !o.ipv6) continue;
        const prefix = hostPrefix(a);
        if (!out.has(prefix)) out.set(prefix, { prefix, service: id, kind });
      }
    };

    if (flag(ANNOTATIONS.svcAdvertiseClusterIp, o.advertiseClusterIp) && (!internalLocal || local())) {
      add([...new Set([...(spec.clusterIPs ?? []), spec.clusterIP])], 'cluster');
    }
    if (flag(ANNOTATIONS.svcAdvertiseExternalIp, o.advertiseExternalIp) && (!externalLocal || local())) {
      const ips = filterServiceIps('external', spec.externalIPs ?? [], o, (_ip, why) =>
        problems.report(`service/${id}`, 'spec.externalIPs', `${why}: not advertised`),
      );
      add(ips, 'external');
    }
    if (
      type === 'LoadBalancer' &&
      ann[ANNOTATIONS.svcSkipLbIps] === undefined &&
      flag(ANNOTATIONS.svcAdvertiseLoadBalancerIp, o.advertiseLoadBalancerIp) &&
      (!externalLocal || local())
    ) {
      const ips = (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip && i.ipMode !== 'Proxy').map((i) => i.ip!);
      add(
        filterServiceIps('loadbalancer', ips, o, (_ip, why) =>
          problems.report(`service/${id}`, 'status.loadBalancer.ingress', `${why}: not advertised`),
        ),
        'loadbalancer',
      );
    }
  }
  return [...out.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

/**
 * Every service IP in the cluster (cluster, external, load-balancer), as host prefixes: routes to
 * them learned from peers are rejected on import, each node handles service IPs itself
 * (kube-router bgp_policies.go).
 */
export function allServiceIps(services: readonly ServiceObject[]): Set<string> {
  const out = new Set<string>();
  for (const svc of services) {
    const spec = svc.spec ?? {};
    const ips = [
      spec.clusterIP,
      ...(spec.clusterIPs ?? []),
      ...(spec.externalIPs ?? []),
      ...(svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip),
    ];
    for (const ip of ips) {
      if (!ip || ip === 'None' || !isIp(ip)) continue;
      out.add(hostPrefix(canonicalIp(ip)));
    }
  }
  return out;
}
