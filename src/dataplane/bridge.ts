/**
 * kube-bridge reconciler: the bridge pods' veths attach to, up, with the first address of each
 * pod CIDR as the pods' gateway (10.233.66.1/24 for 10.233.66.0/24, as in seed 001) and the MTU
 * of the node's interface. Addresses it should not have are removed (a pod CIDR that changed).
 */
import ipaddr from 'ipaddr.js';
import type { Rtnl } from './rtnl';

export const BRIDGE = 'kube-bridge';

/** "10.233.66.0/24" -> "10.233.66.1/24"; "fd00:1::/64" -> "fd00:1::1/64". */
export function gatewayOf(podCidr: string): string {
  const [net, len] = ipaddr.parseCIDR(podCidr);
  const bytes = net.toByteArray();
  bytes[bytes.length - 1]! += 1;
  return `${ipaddr.fromByteArray(bytes).toString()}/${len}`;
}

export class BridgeReconciler {
  constructor(
    private readonly rtnl: Rtnl,
    private readonly name = BRIDGE,
  ) {}

  async reconcile(podCidrs: readonly string[], mtu?: number): Promise<{ created: boolean; addressesChanged: boolean }> {
    let link = await this.rtnl.link(this.name);
    const created = !link;
    if (!link) {
      await this.rtnl.createLink(this.name, 'bridge');
      link = await this.rtnl.link(this.name);
      if (!link) throw new Error(`${this.name} was not created`);
    }
    if (link.kind !== 'bridge') throw new Error(`BUG: ${this.name} exists but is a ${link.kind ?? 'non-bridge'} link`);
    if (mtu !== undefined && link.mtu !== mtu) await this.rtnl.setLink(link.index, { mtu });
    if (!link.up) await this.rtnl.setLink(link.index, { up: true });
    const want = new Set(podCidrs.map(gatewayOf));
    const have = (await this.rtnl.addresses(link.index)).map((a) => a.cidr).filter((c) => !c.startsWith('fe80'));
    let addressesChanged = false;
    for (const c of have) {
      if (!want.has(c)) {
        await this.rtnl.deleteAddress(link.index, c);
        addressesChanged = true;
      }
    }
    for (const c of want) {
      if (!have.includes(c)) {
        await this.rtnl.addAddress(link.index, c);
        addressesChanged = true;
      }
    }
    return { created, addressesChanged };
  }

  async remove(): Promise<boolean> {
    const link = await this.rtnl.link(this.name);
    if (!link) return false;
    await this.rtnl.deleteLink(link.index);
    return true;
  }
}
