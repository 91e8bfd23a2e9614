/** sysctls the data path needs, read back and written only when they differ. */
import fs from 'node:fs';

const file = (key: string): string => `/proc/sys/${key.replace(/\./g, '/')}`;

/** Where sysctls are read and written: /proc/sys, or a map in unit tests. */
export interface Sysctls {
  read(key: string): string | undefined;
  write(key: string, value: string): void;
}

export function readSysctl(key: string): string | undefined {
  try {
    return fs.readFileSync(file(key), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export const procSysctls: Sysctls = { read: readSysctl, write: (key, value) => fs.writeFileSync(file(key), value) };

/** Sets each key to its value; returns the keys it changed. Missing keys are an error. */
export function reconcileSysctls(want: Record<string, string>, sys: Sysctls = procSysctls): string[] {
  const changed: string[] = [];
  for (const [key, value] of Object.entries(want)) {
    const have = sys.read(key);
    if (have === undefined) throw new Error(`sysctl ${key} does not exist in this kernel or namespace`);
    if (have === value) continue;
    sys.write(key, value);
    changed.push(key);
  }
  return changed;
}

export function forwardingSysctls(ipv4: boolean, ipv6: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (ipv4) out['net.ipv4.ip_forward'] = '1';
  if (ipv6) out['net.ipv6.conf.all.forwarding'] = '1';
  return out;
}

/**
 * What IPVS NAT needs (kube-router's values): connection tracking for IPVS connections, so the
 * SNAT rule can match them; connections to a removed real server expire at once instead of
 * hanging; bridged pod traffic passes netfilter, so IPVS sees a local pod's reply to another
 * local pod and reverses the NAT; ARP answers only for addresses on the asking interface, so
 * the VIPs on kube-dummy-if are never announced.
 */
export function serviceProxySysctls(ipv6: boolean): Record<string, string> {
  return {
    'net.ipv4.vs.conntrack': '1',
    'net.ipv4.vs.expire_nodest_conn': '1',
    'net.ipv4.vs.expire_quiescent_template': '1',
    'net.bridge.bridge-nf-call-iptables': '1',
    ...(ipv6 ? { 'net.bridge.bridge-nf-call-ip6tables': '1' } : {}),
    'net.ipv4.conf.all.arp_ignore': '1',
    'net.ipv4.conf.all.arp_announce': '2',
  };
}
