/**
 * --cleanup-config: removes everything the agent set up on this node: our iptables chains and
 * jumps (before the ipsets they reference), the ipsets, our policy rules, overlay tunnels and
 * routes with our protocol number, kube-bridge, the service proxy's IPVS virtual servers and
 * kube-dummy-if, the GUE port, and the CNI config. Safe to run on a node where some or none of
 * it exists.
 */
import fs from 'node:fs';
import { DummyReconciler } from './dummy';
import { Ipvs } from './ipvs';
import { Iptables } from './iptables';
import { IpSets, NODE_IPS, POD_SUBNETS, v6Name } from './ipsets';
import { Rtnl } from './rtnl';
import { RouteReconciler } from './routes';
import { BridgeReconciler } from './bridge';
import { TunnelReconciler } from './tunnels';
import { RuleReconciler } from './rules';
import { reconcileFouPorts } from './fou';

export async function cleanupDataPlane(cniConfPath: string, fouPort = 5555): Promise<string[]> {
  const done: string[] = [];
  const chains = await new Iptables().cleanup([4, 6]);
  if (chains.length) done.push(`iptables chains ${chains.join(', ')}`);
  const sets = [POD_SUBNETS, NODE_IPS, v6Name(POD_SUBNETS), v6Name(NODE_IPS)];
  const ipsets = new IpSets();
  const present: string[] = [];
  for (const s of sets) if ((await ipsets.members(s)) !== undefined) present.push(s);
  await ipsets.destroy(present);
  if (present.length) done.push(`ipsets ${present.join(', ')}`);
  const rtnl = Rtnl.open();
  try {
    const rules = await new RuleReconciler(rtnl).reconcile([]);
    if (rules.removed.length) done.push(`rules ${rules.removed.join(', ')}`);
    const tunnels = await new TunnelReconciler(rtnl).reconcile([]);
    if (tunnels.removed.length) done.push(`tunnels ${tunnels.removed.join(', ')}`);
    const routes = await new RouteReconciler(rtnl).reconcile([]);
    if (routes.removed.length) done.push(`${routes.removed.length} routes`);
    if (await new BridgeReconciler(rtnl).remove()) done.push('kube-bridge');
    // IPVS virtual servers on this host's own addresses (VIPs, node ports) are the proxy's, as
    // kube-router's cleanup assumes; the table is only read when the module is already loaded.
    if (fs.existsSync('/proc/net/ip_vs')) {
      const local = new Set((await rtnl.addresses()).map((a) => a.cidr.split('/')[0]));
      const ipvs = await new Ipvs().reconcile([], (v) => local.has(v.address));
      if (ipvs.removed.length) done.push(`IPVS services ${ipvs.removed.join(', ')}`);
    }
    if (await new DummyReconciler(rtnl).remove()) done.push('kube-dummy-if');
  } finally {
    rtnl.close();
  }
  const fou = await reconcileFouPorts([], [fouPort]);
  if (fou.length) done.push(`GUE port ${fouPort}`);
  if (fs.existsSync(cniConfPath)) {
    fs.rmSync(cniConfPath);
    done.push(cniConfPath);
  }
  return done;
}
