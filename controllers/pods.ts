/**
 * Pods controller: the pods scheduled on this node, with their addresses and readiness. What
 * the agent reports about its node (and `lab status` shows). Pure: no I/O.
 */
export interface PodObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { nodeName?: string; hostNetwork?: boolean; terminationGracePeriodSeconds?: number };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string }[];
    /** The first one's containerID ("containerd://ID") finds the pod's namespace for DSR. */
    containerStatuses?: { containerID?: string }[];
  };
}

export interface LocalPod {
  name: string;
  namespace: string;
  ips: string[];
  phase: string;
  ready: boolean;
  hostNetwork: boolean;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function computeLocalPods(pods: readonly PodObject[], nodeName: string): LocalPod[] {
  return pods
    .filter((p) => p.spec?.nodeName === nodeName && p.metadata?.name)
    .map((p) => ({
      name: p.metadata!.name!,
      namespace: p.metadata?.namespace ?? 'default',
      ips: p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : []),
      phase: p.status?.phase ?? 'Unknown',
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      hostNetwork: p.spec?.hostNetwork === true,
    }))
    .sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
}

/**
 * Each pod IP's terminationGracePeriodSeconds (IPVS graceful termination drains a real server for
 * that long at most). Host-network pods share the node's IP and are left out, as are values that
 * are not a whole number of seconds >= 0.
 */
export function podGracePeriods(pods: readonly PodObject[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of pods) {
    const s = p.spec?.terminationGracePeriodSeconds;
    if (p.spec?.hostNetwork || typeof s !== 'number' || !Number.isInteger(s) || s < 0) continue;
    for (const ip of p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : [])) out.set(ip, s);
  }
  return out;
}
