/**
 * --cleanup-config: removes everything the agent set up on this node, walking the data path's
 * one ordered list of reconcilers (pieces.ts) backwards: the service proxy's chain, IPVS virtual
 * servers and kube-dummy-if, policy rules, routes with our protocol number, the GUE port,
 * overlay tunnels, our iptables chains and jumps (before the ipsets they reference), the
 * ipsets, the CNI config and kube-bridge. Safe to run on a node where some or none of it exists.
 */
import { run } from '../util/exec';
import { cleanupAll, DEFAULT_FOU_PORT, makePieces } from './pieces';
import { Rtnl } from './rtnl';
import { procSysctls } from './sysctl';

export async function cleanupDataPlane(cniConfPath: string, fouPort = DEFAULT_FOU_PORT): Promise<string[]> {
  const rtnl = Rtnl.open();
  try {
    return await cleanupAll(makePieces({ rtnl, run, sysctls: procSysctls, cniConfPath, fouPort }));
  } finally {
    rtnl.close();
  }
}
