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
import { computeProxy, type PodTunnel, type ProxyDesired } from '../../controllers/service-proxy';
import type { PodTunnelWant } from '../dataplane/pod-tunnels';
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

/** How soon a DSR pod whose tunnel failed is tried again. */
const POD_TUNNEL_RETRY_MS = 10_000;

export class ServicesLoop {
  /** What the proxy was last set to (for the status). */
  proxy: ProxyDesired | undefined;
  /** A run asked for because of failed pod tunnels (unref'd; a stopped task ignores it). */
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly cluster: ClusterWatch,
    private readonly dataplane: DataPlane,
    private readonly problems: Problems,
    private readonly log: Logger,
    /** Asks for another run (DSR pods whose tunnel could not be set up). */
    private readonly again?: () => void,
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
      podTunnels: desired.podTunnels.length ? this.podTunnels(desired.podTunnels, cluster.pods.list()) : [],
    });
    this.proxy = desired;
    const { dsr, podTunnels, ...ipvs } = changes;
    const counts = [ipvs.added, ipvs.edited, ipvs.removed, ipvs.realServers, ipvs.vipsAdded, ipvs.vipsRemoved];
    if (counts.some((x) => x.length) || ipvs.timeouts || ipvs.drainStarted || ipvs.drainEnded)
      this.log.info({ ...ipvs }, 'service proxy updated');
    if (dsr.rules.added.length || dsr.rules.removed.length || dsr.localAdded.length || dsr.localRemoved.length)
      this.log.info({ ...dsr }, 'DSR policy routing updated');
    if (podTunnels.configured.length) this.log.info({ pods: podTunnels.configured }, 'DSR tunnels set up in endpoint pods');
    // Not a failure of the run: one pod the runtime cannot find (or a wrong --runtime-endpoint)
    // must not hold up the proxy or make the agent unhealthy. Said once per reason, tried again soon.
    for (const f of podTunnels.failed) this.problems.report(`DSR endpoint ${f.podIp}`, 'kube-tunnel-if', `not set up: ${f.err}`);
    clearTimeout(this.retry);
    if (podTunnels.failed.length && this.again) this.retry = setTimeout(this.again, POD_TUNNEL_RETRY_MS).unref();
  }

  /** Local DSR endpoints with their pods' container IDs; pods not found (yet) or on the host's network are reported and left out. */
  private podTunnels(want: readonly PodTunnel[], pods: readonly PodObject[]): PodTunnelWant[] {
    if (!this.config.runtimeEndpoint) {
      // Not a failure to retry: nothing changes until the flag is given.
      this.problems.report(
        'flag --runtime-endpoint',
        'runtime-endpoint',
        `not given: the local endpoints of DSR services (${want.map((t) => t.podIp).join(', ')}) get no tunnel, so requests tunnelled to them are dropped`,
      );
      return [];
    }
    const byIp = new Map<string, PodObject>();
    for (const p of pods)
      if (p.spec?.nodeName === this.config.nodeName)
        for (const ip of [p.status?.podIP, ...(p.status?.podIPs ?? []).map((x) => x.ip)]) if (ip) byIp.set(ip, p);
    return want.flatMap((t) => {
      const p = byIp.get(t.podIp);
      const id = p?.status?.containerStatuses?.[0]?.containerID;
      const what = `pod ${p?.metadata?.namespace ?? ''}/${p?.metadata?.name ?? t.podIp}`;
      if (p?.spec?.hostNetwork) {
        this.problems.report(
          what,
          'spec.hostNetwork',
          'a DSR endpoint on the host network gets no tunnel (kube-router: DSR needs pod networking)',
        );
        return [];
      }
      if (!id) {
        this.log.debug({ pod: t.podIp }, 'DSR endpoint without a known container yet');
        return [];
      }
      return [{ podIp: t.podIp, containerId: id, vips: t.vips }];
    });
  }
}
