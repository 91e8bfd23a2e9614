/**
 * A link the agent owns (kube-bridge, kube-dummy-if): exists with the right kind, is up, has the
 * wanted MTU and holds exactly the wanted addresses (link-local IPv6 aside). Idempotent.
 */
import type { Rtnl } from './rtnl';

export interface OwnedLink {
  name: string;
  kind: string;
  /** "10.244.1.1/24", "10.96.0.10/32" */
  addresses: readonly string[];
  mtu?: number;
  scope?: 'universe' | 'link';
}

export interface OwnedLinkChanges {
  created: boolean;
  added: string[];
  removed: string[];
}

export async function reconcileOwnedLink(rtnl: Rtnl, want: OwnedLink): Promise<OwnedLinkChanges> {
  let link = await rtnl.link(want.name);
  const created = !link;
  if (!link) {
    await rtnl.createLink(want.name, want.kind);
    link = await rtnl.link(want.name);
    if (!link) throw new Error(`${want.name} was not created`);
  }
  if (link.kind !== want.kind) throw new Error(`BUG: ${want.name} exists but is a ${link.kind ?? 'kind-less'} link, not ${want.kind}`);
  if (want.mtu !== undefined && link.mtu !== want.mtu) await rtnl.setLink(link.index, { mtu: want.mtu });
  if (!link.up) await rtnl.setLink(link.index, { up: true });
  const wanted = new Set(want.addresses);
  const have = (await rtnl.addresses(link.index)).map((a) => a.cidr).filter((c) => !c.startsWith('fe80'));
  const removed = have.filter((c) => !wanted.has(c));
  const added = [...wanted].filter((c) => !have.includes(c));
  for (const c of removed) await rtnl.deleteAddress(link.index, c);
  for (const c of added) await rtnl.addAddress(link.index, c, want.scope);
  return { created, added, removed };
}

/** Deletes the link if it exists; true when it did. */
export async function removeLink(rtnl: Rtnl, name: string): Promise<boolean> {
  const link = await rtnl.link(name);
  if (!link) return false;
  await rtnl.deleteLink(link.index);
  return true;
}
