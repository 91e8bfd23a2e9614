/**
 * The network policy loop (--run-firewall): NetworkPolicies, Namespaces and every node's Pods ->
 * the policy plan for this node's pods -> ipsets and iptables chains. Runs on any informer
 * change (so a policy is enforced well within a second of its event), every
 * --iptables-sync-period, and when the drift check finds its rules or sets changed. It waits
 * until all three informers have listed: judging pods on a partial view would cut real flows.
 */
import type { Logger } from '../../bgp';
import type { AgentConfig } from '../config/agent-config';
import type { ClusterWatch } from '../../controllers/cluster-watch';
import type { Problems } from '../../controllers/problems';
import { computePolicyPlan } from '../../controllers/network-policy';
import { renderFirewall } from '../dataplane/netpol';
import type { DataPlane } from './dataplane';
import type { AgentMetrics } from './metrics';

export class FirewallLoop {
  /** What the last run enforced, for the status: isolated pods per direction, chains, sets. */
  view: { isolatedIngress: string[]; isolatedEgress: string[]; chains: number; ipsets: number } | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly cluster: ClusterWatch,
    private readonly dataplane: DataPlane,
    private readonly problems: Problems,
    private readonly log: Logger,
    private readonly metrics: AgentMetrics | undefined,
    /** This node's pod CIDRs, once its Node is known. */
    private readonly podCidrs: () => readonly string[] | undefined,
  ) {}

  async run(): Promise<void> {
    const { pods, networkPolicies, namespaces } = this.cluster;
    if (!networkPolicies || !namespaces || !pods.synced || !networkPolicies.synced || !namespaces.synced) return;
    const c = this.config;
    const t0 = process.hrtime.bigint();
    const plan = computePolicyPlan({
      policies: networkPolicies.list(),
      namespaces: namespaces.list(),
      pods: pods.list(),
      nodeName: c.nodeName,
    });
    for (const p of plan.problems) this.problems.report(`NetworkPolicy ${p.policy}`, 'spec', p.problem);
    // Default deny needs this node's pod CIDRs: until the Node is known, no such rule.
    const podCidrs = c.netpolDefaultDeny ? this.podCidrs() : undefined;
    const render = renderFirewall({
      pods: plan.pods,
      serviceRanges: c.serviceClusterIpRanges,
      nodePortRange: c.nodePortRange,
      vipRanges: [...c.serviceExternalIpRanges, ...c.loadBalancerIpRanges],
      ...(podCidrs?.length ? { defaultDeny: { podCidrs } } : {}),
    });
    const r = await this.dataplane.reconcileFirewall(render);
    const families = [...(c.ipv4 ? [render.families[4]] : []), ...(c.ipv6 ? [render.families[6]] : [])];
    const chains = families.reduce((n, f) => n + f.chains.length, 0);
    const isolated = (dir: 'ingress' | 'egress') => plan.pods.filter((p) => p[dir]).map((p) => `${p.namespace}/${p.name}`);
    const before = this.view;
    this.view = { isolatedIngress: isolated('ingress'), isolatedEgress: isolated('egress'), chains, ipsets: render.sets.length };
    const m = this.metrics;
    if (m) {
      m.policyChainsSyncTime.observe(Number(process.hrtime.bigint() - t0) / 1e9);
      if (r.setsChanged.length) m.policyIpsetRestoreTime.observe(r.ipsetMs / 1000);
      m.policyChains.set(chains);
      m.policyIpsets.set(render.sets.length);
    }
    if (r.written && JSON.stringify(before) !== JSON.stringify(this.view))
      this.log.info(
        {
          isolatedIngress: this.view.isolatedIngress.length,
          isolatedEgress: this.view.isolatedEgress.length,
          chains,
          ipsets: render.sets.length,
          ms: Number(process.hrtime.bigint() - t0) / 1e6,
        },
        'network policy enforced',
      );
  }
}
