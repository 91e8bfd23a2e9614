/**
 * --strict-external-ip-validation, as kube-router's svcip validator applies it to both the
 * proxy and the advertisement of external and load-balancer IPs: with it (the default), such an
 * IP is taken only inside --service-external-ip-range / --loadbalancer-ip-range and outside
 * --service-cluster-ip-range; with no range given, none is (default deny). Without it, every
 * address is. Pure; each refusal is reported with its reason.
 */
import { isIp, inPrefixes } from '../net';

export interface ServiceIpRanges {
  strictExternalIpValidation: boolean;
  externalIpRanges: readonly string[];
  loadBalancerIpRanges: readonly string[];
  clusterIpRanges: readonly string[];
}

export type ServiceIpKind = 'external' | 'loadbalancer';

const FLAG: Record<ServiceIpKind, string> = { external: '--service-external-ip-range', loadbalancer: '--loadbalancer-ip-range' };

/** Why `ip` is refused, or undefined when it is taken. */
export function serviceIpRefusal(kind: ServiceIpKind, ip: string, r: ServiceIpRanges): string | undefined {
  if (!r.strictExternalIpValidation) return undefined;
  const ranges = kind === 'external' ? r.externalIpRanges : r.loadBalancerIpRanges;
  if (!ranges.length) return `no ${FLAG[kind]} is given (strict validation refuses every address then)`;
  if (!isIp(ip)) return `${JSON.stringify(ip)} is not an IP address`;
  if (inPrefixes(ip, r.clusterIpRanges)) return `${ip} is inside --service-cluster-ip-range (strict validation)`;
  if (!inPrefixes(ip, ranges)) return `${ip} is outside ${FLAG[kind]} (strict validation)`;
  return undefined;
}

/** The addresses of `ips` taken; `refused` hears of each other one. */
export function filterServiceIps(
  kind: ServiceIpKind,
  ips: readonly string[],
  r: ServiceIpRanges,
  refused: (ip: string, why: string) => void,
): string[] {
  return ips.filter((ip) => {
    const why = serviceIpRefusal(kind, ip, r);
    if (why) refused(ip, why);
    return !why;
  });
}
