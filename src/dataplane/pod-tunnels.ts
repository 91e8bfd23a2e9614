/**
 * DSR inside the endpoint pods, as kube-router sets it up: in each local endpoint's network
 * namespace an IPIP device `kube-tunnel-if` (local = the pod's IP) holding the DSR addresses as
 * /32, up, reverse-path filtering off (the decapsulated packets come from clients the pod
 * reaches through eth0); for an IPv6 endpoint an ip6ip6 device `kube-tunnel-v6` holding them as
 * /128 (IPVS tunnels IPv6 in IPv6). IPVS on any node then tunnels requests to the pod, which
 * answers the client directly with the service address as source. The namespace is found from
 * the pod's container through the runtime (cri.ts); what was set is remembered per pod address
 * and done again when the container's process or the addresses change.
 */
import fs from 'node:fs';
import { ipFamily } from '../../net';
import type { Runner } from '../util/exec';

export const POD_TUNNEL = 'kube-tunnel-if';
export const POD_TUNNEL_V6 = 'kube-tunnel-v6';

export interface PodTunnelWant {
  podIp: string;
  /** The pod's container (containerStatuses[0].containerID), to find its network namespace. */
  containerId: string;
  vips: readonly string[];
}

export interface PodTunnelChanges {
  /** "10.244.1.5: 203.0.113.10" per pod set up this run. */
  configured: string[];
  failed: { podIp: string; err: string }[];
}

/** The commands, run in the pod's namespace, that make its tunnel device (of the pod IP's family) hold exactly `vips`. */
export function podTunnelScript(podIp: string, vips: readonly string[]): string {
  const v4 = ipFamily(podIp) === 4;
  const [dev, type, f, len] = v4 ? [POD_TUNNEL, 'ipip', '-4', 32] : [POD_TUNNEL_V6, 'ip6tnl mode ip6ip6', '-6', 128];
  const want = vips.map((v) => `${v}/${len}`);
  return [
    'set -e',
    `ip link show ${dev} >/dev/null 2>&1 || ip link add ${dev} type ${type} local ${podIp}`,
    `ip link set ${dev} up`,
    // No duplicate address detection for IPv6: the address is the service's, on many pods by design.
    ...want.map((a) => `ip ${f} addr replace ${a} dev ${dev}${v4 ? '' : ' nodad'}`),
    `for a in $(ip -o ${f} addr show dev ${dev} scope global | awk '{print $4}'); do`,
    `  case " ${want.join(' ')} " in *" $a "*) ;; *) ip ${f} addr del "$a" dev ${dev} ;; esac`,
    'done',
    // IPv6 has no reverse-path filter of its own (that is netfilter's rpfilter match, unused here).
    ...(v4
      ? [
          `for c in all ${dev} eth0; do [ ! -e /proc/sys/net/ipv4/conf/$c/rp_filter ] || echo 0 > /proc/sys/net/ipv4/conf/$c/rp_filter; done`,
        ]
      : []),
  ].join('\n');
}

export class PodTunnels {
  /** Pod IP -> what was set up there: in which container's process, which addresses. */
  private readonly applied = new Map<string, { containerId: string; pid: number; vips: string }>();

  constructor(
    private readonly exec: Runner,
    /** The PID of a container's process (through --runtime-endpoint). */
    private readonly pidOf: (containerId: string) => Promise<number>,
  ) {}

  async reconcile(want: readonly PodTunnelWant[]): Promise<PodTunnelChanges> {
    const out: PodTunnelChanges = { configured: [], failed: [] };
    const wanted = new Set(want.map((w) => w.podIp));
    // Pods no longer endpoints keep their device until they go (harmless: nothing is tunnelled to them).
    for (const ip of [...this.applied.keys()]) if (!wanted.has(ip)) this.applied.delete(ip);
    for (const w of want) {
      const vips = w.vips.join(',');
      const prev = this.applied.get(w.podIp);
      // Done already in this container, whose process still runs, with these addresses: nothing to ask the runtime.
      if (prev?.containerId === w.containerId && prev.vips === vips && fs.existsSync(`/proc/${prev.pid}/ns/net`)) continue;
      try {
        const pid = await this.pidOf(w.containerId);
        await this.exec('nsenter', [`--net=/proc/${pid}/ns/net`, 'sh', '-c', podTunnelScript(w.podIp, w.vips)]);
        this.applied.set(w.podIp, { containerId: w.containerId, pid, vips });
        out.configured.push(`${w.podIp}: ${w.vips.join(' ')}`);
      } catch (e) {
        this.applied.delete(w.podIp);
        out.failed.push({ podIp: w.podIp, err: (e as Error).message });
      }
    }
    return out;
  }
}
