/**
 * kube-dummy-if: a dummy link holding every service VIP as a /32 (/128) with scope link, as
 * kube-router does (seed 001's `ip addr`). The VIPs are then local addresses, so packets to them
 * reach IPVS on the INPUT path; scope link keeps them from being chosen as a source address.
 */
import { hostPrefix } from '../../net';
import type { Rtnl } from './rtnl';
import { reconcileOwnedLink, removeLink, OwnedLinkChanges } from './links';

export const DUMMY = 'kube-dummy-if';

export class DummyReconciler {
  constructor(
    private readonly rtnl: Rtnl,
    private readonly name = DUMMY,
  ) {}

  /** Makes kube-dummy-if exist, up, holding exactly `vips`. */
  reconcile(vips: readonly string[]): Promise<OwnedLinkChanges> {
    return reconcileOwnedLink(this.rtnl, { name: this.name, kind: 'dummy', addresses: vips.map(hostPrefix), scope: 'link' });
  }

  remove(): Promise<boolean> {
    return removeLink(this.rtnl, this.name);
  }
}
