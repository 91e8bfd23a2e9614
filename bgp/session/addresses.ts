/**
 * Addresses as sockets report them, and the next hops we advertise from a session. An IPv6
 * route over an IPv4 session needs an IPv6 next hop of ours (BIRD drops the route otherwise):
 * we take a global address of the interface that holds the session's local IPv4 address.
 */
import os from 'node:os';
import { normalizeAddress } from '../../net';

/** A global (not link-local) IPv6 address on the interface that holds `local`, if any. */
export function siblingIpv6(local: string): string | undefined {
  for (const addrs of Object.values(os.networkInterfaces())) {
    if (!addrs?.some((a) => normalizeAddress(a.address) === local)) continue;
    const v6 = addrs.find((a) => a.family === 'IPv6' && !a.internal && !a.address.toLowerCase().startsWith('fe80'));
    if (v6) return normalizeAddress(v6.address);
  }
  return undefined;
}

/** A link-local IPv6 address on the interface that holds `local`, if any. */
export function siblingLinkLocal(local: string): string | undefined {
  for (const addrs of Object.values(os.networkInterfaces())) {
    if (!addrs?.some((a) => normalizeAddress(a.address) === local)) continue;
    const ll = addrs.find((a) => a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80'));
    if (ll) return normalizeAddress(ll.address.split('%')[0]);
  }
  return undefined;
}
