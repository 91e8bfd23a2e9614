/**
 * kube-bridge reconciler: the bridge pods' veths attach to, up, with the first address of each
 * pod CIDR as the pods' gateway (10.233.66.1/24 for 10.233.66.0/24, as in seed 001) and the MTU
 * of the node's interface. Addresses it should not have are removed (a pod CIDR that changed).
 */
import { firstHost } from '../../net';
import type { Rtnl } from './rtnl';
import { reconcileOwnedLink, removeLink } from './links';

export const BRIDGE = 'kube-bridge';

/** "10.233.66.0/24" -> "10.233.66.1/24"; "fd00:1::/64" -> "fd00:1::1/64". */
export function gatewayOf(podCidr: string): string {
  return firstHost(podCidr);
}

export class BridgeReconciler {
  constructor(
    private readonly rtnl: Rtnl,
    private readonly name = BRIDGE,
  ) {}

  async reconcile(podCidrs: readonly string[], mtu?: number): Promise<{ created: boolean; addressesChanged: boolean }> {
    const c = await reconcileOwnedLink(this.rtnl, {
      name: this.name,
      kind: 'bridge',
      addresses: podCidrs.map(gatewayOf),
      ...(mtu !== undefined ? { mtu } : {}),
    });
    return { created: c.created, addressesChanged: c.added.length + c.removed.length > 0 };
  }

  remove(): Promise<boolean> {
    return removeLink(this.rtnl, this.name);
  }
}
