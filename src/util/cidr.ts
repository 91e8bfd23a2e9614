/** Address-in-subnet tests shared by the agent and the data path. */
import ipaddr from 'ipaddr.js';

/** True when `ip` lies in one of `subnets` of its own family. */
export function inSubnets(ip: string, subnets: readonly string[]): boolean {
  const a = ipaddr.parse(ip);
  return subnets.some((s) => {
    const [net, len] = ipaddr.parseCIDR(s);
    return net.kind() === a.kind() && a.match(net, len);
  });
}

/** The first of `cidrs` (same family) that equals or contains `prefix`, if any. */
export function containingPrefix(prefix: string, cidrs: readonly string[]): string | undefined {
  const [net, len] = ipaddr.parseCIDR(prefix);
  return cidrs.find((c) => {
    const [cnet, clen] = ipaddr.parseCIDR(c);
    return cnet.kind() === net.kind() && len >= clen && net.match(cnet, clen);
  });
}
