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
