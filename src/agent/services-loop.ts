/**
 * The service proxy loop (kube-proxy's job): IPVS virtual servers and kube-dummy-if VIPs from
 * Services and EndpointSlices. It runs with the last joined snapshot, so it keeps serving while
 * the Node object is away (local pods still use services); it waits only for the first Node,
 * whose IPs the node ports listen on, and for both informers to have listed.
 */
import type { Logger } from '../../bgp';
import type { AgentConfig } from '../config/agent-config';
import type { ClusterWatch } from '../../controllers/cluster-watch';
import type { Problems } from '../../controllers/problems';
import { computeProxy, type ProxyDesired } from '../../controllers/service-proxy';
import type { DataPlane } from './dataplane';
import type { Joined } from './desired';
import type { ServiceIpRanges } from '../../controllers/service-ip-filter';
import { podGracePeriods, type PodObject } from '../../controllers/pods';
import type { PodPeriod } from '../dataplane/ipvs-drain';

/** The flags --strict-external-ip-validation reads, for the proxy and for advertisement alike. */
export const serviceIpRanges = (c: AgentConfig): ServiceIpRanges => ({
  strictExternalIpValidation: c.strictExternalIpValidation,
  externalIpRanges: c.serviceExternalIpRanges,
  loadBalancerIpRanges: c.loadBalancerIpRanges,
  clusterIpRanges: c.serviceClusterIpRanges,
});

/** Pod IP -> grace period, indexed on first use only (a run where nothing starts draining asks for none). */
function lazyPodPeriods(pods: () => readonly PodObject[]): PodPeriod {
  let index: Map<string, number> | undefined;
  return (ip) => (index ??= podGracePeriods(pods())).get(ip);
}

export class ServicesLoop {
  /** What the proxy was last set to (for the status). */
  proxy: ProxyDesired | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly cluster: ClusterWatch,
    private readonly dataplane: DataPlane,
    private readonly problems: Problems,
    private readonly log: Logger,
  ) {}

  async run(d: Joined | undefined): Promise<void> {
    const cluster = this.cluster;
    if (!d || !cluster.services.synced || !cluster.endpointSlices.synced) return;
    const c = this.config;
    const local = d.local;
    const nodeIps = [c.ipv4 ? local.ipv4 : undefined, c.ipv6 ? local.ipv6 : undefined].filter((x): x is string => !!x);
    // --nodeport-bindon-all-ip: node ports on every address of the node, not only its node IPs.
    const nodePortIps = c.nodeportBindonAllIp ? [...new Set([...nodeIps, ...(await this.dataplane.nodePortAddresses())])] : nodeIps;
    const desired = computeProxy(
      cluster.services.list(),
      cluster.endpointSlices.list(),
      { nodeName: c.nodeName, nodeIps: nodePortIps, ipv4: c.ipv4, ipv6: c.ipv6, hairpinAll: c.hairpinMode, ...serviceIpRanges(c) },
      this.problems,
    );
    const changes = await this.dataplane.reconcileServices({
      virtualServers: desired.virtualServers,
      vips: desired.vips,
      nodeIps,
      nodePortIps,
      podCidrs: local.podCidrs,
      ...(c.ipvsGracefulPeriodMs !== undefined ? { podPeriod: lazyPodPeriods(() => cluster.pods.list()) } : {}),
    });
    this.proxy = desired;
    const counts = [changes.added, changes.edited, changes.removed, changes.realServers, changes.vipsAdded, changes.vipsRemoved];
    if (counts.some((x) => x.length) || changes.timeouts || changes.drainStarted || changes.drainEnded)
      this.log.info({ ...changes }, 'service proxy updated');
  }
}
