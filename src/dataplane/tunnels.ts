/**
 * Overlay tunnels reconciler: one IP-in-IP tunnel per remote node that needs one, named from
 * the node's IP as in the kube-router notes (tun-1921685052 for 192.168.50.52), plain ipip or
 * with GUE encapsulation (fou), over IPv4 or IPv6 (ip6tnl). A tunnel whose endpoints or
 * encapsulation changed is re-created; tunnels of ours no longer wanted are deleted.
 */
import { formatIp, ipFamily, parseIp } from '../../net';
import crypto from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { Attr, Link, Rtnl } from './rtnl';
import { run } from '../util/exec';

export const TUNNEL_PREFIX = 'tun-';
/** IFNAMSIZ - 1. */
const MAX_IFNAME = 15;

/** IFLA_IPTUN_* (linux/if_tunnel.h). */
const IPTUN = {
  LOCAL: 2,
  REMOTE: 3,
  TTL: 4,
  FLAGS: 8,
  PROTO: 9,
  PMTUDISC: 10,
  ENCAP_TYPE: 15,
  ENCAP_FLAGS: 16,
  ENCAP_SPORT: 17,
  ENCAP_DPORT: 18,
} as const;
const ENCAP_GUE = 2;
const IPPROTO_IPIP = 4;
const IPPROTO_IPV6 = 41;
/** ip6tnl: no tunnel encapsulation limit option (iproute2's "encaplimit none"): 8 bytes less overhead. */
const IP6_TNL_F_IGN_ENCAP_LIMIT = 0x1;

export type Encap = 'ipip' | 'fou';

export interface DesiredTunnel {
  name: string;
  family: 4 | 6;
  local: string;
  remote: string;
  encap: Encap;
  /** GUE destination port (fou). */
  port: number;
  mtu: number;
}

/**
 * "tun-" and the IP without dots when that fits in an interface name; otherwise (long IPv4,
 * IPv6) "tun-" and the first 11 hex digits of the SHA-256 of the address.
 */
export function tunnelName(ip: string): string {
  const plain = `${TUNNEL_PREFIX}${ip.replace(/[.:]/g, '')}`;
  if (plain.length <= MAX_IFNAME && ipFamily(ip) === 4) return plain;
  return `${TUNNEL_PREFIX}${crypto
    .createHash('sha256')
    .update(ipaddr.parse(ip).toNormalizedString())
    .digest('hex')
    .slice(0, MAX_IFNAME - TUNNEL_PREFIX.length)}`;
}

/** Bytes the encapsulation adds: outer IP header, plus UDP and GUE headers for fou. */
export function tunnelOverhead(family: 4 | 6, encap: Encap): number {
  return (family === 4 ? 20 : 40) + (encap === 'fou' ? 8 + 4 : 0);
}

const u8 = (n: number): Buffer => Buffer.from([n]);
const u16le = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u16be = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const addr = parseIp;

function linkData(t: DesiredTunnel): Attr[] {
  const data: Attr[] = [
    { type: IPTUN.LOCAL, value: addr(t.local) },
    { type: IPTUN.REMOTE, value: addr(t.remote) },
    { type: IPTUN.PROTO, value: u8(t.family === 4 ? IPPROTO_IPIP : IPPROTO_IPV6) },
  ];
  if (t.family === 4) data.push({ type: IPTUN.PMTUDISC, value: u8(1) });
  else data.push({ type: IPTUN.FLAGS, value: IP6_TNL_F_IGN_ENCAP_LIMIT });
  if (t.encap === 'fou') {
    // kube-router's GUE tunnels: ttl 225, source port chosen per flow (0 = auto).
    data.push({ type: IPTUN.TTL, value: u8(225) });
    data.push({ type: IPTUN.ENCAP_TYPE, value: u16le(ENCAP_GUE) });
    data.push({ type: IPTUN.ENCAP_FLAGS, value: u16le(0) });
    data.push({ type: IPTUN.ENCAP_SPORT, value: u16be(0) });
    data.push({ type: IPTUN.ENCAP_DPORT, value: u16be(t.port) });
  }
  return data;
}

/** What the kernel has for a tunnel, in the shape of a desired one (undefined: not ours / unreadable). */
function actual(l: Link): Omit<DesiredTunnel, 'name' | 'mtu'> | undefined {
  const d = l.data;
  if (!d?.get(IPTUN.LOCAL) || !d.get(IPTUN.REMOTE)) return undefined;
  const ip = formatIp;
  const encapType = d.get(IPTUN.ENCAP_TYPE)?.readUInt16LE(0) ?? 0;
  return {
    family: l.kind === 'ip6tnl' ? 6 : 4,
    local: ip(d.get(IPTUN.LOCAL)!),
    remote: ip(d.get(IPTUN.REMOTE)!),
    encap: encapType === ENCAP_GUE ? 'fou' : 'ipip',
    port: encapType === ENCAP_GUE ? (d.get(IPTUN.ENCAP_DPORT)?.readUInt16BE(0) ?? 0) : 0,
  };
}

const isOurs = (l: Link): boolean => l.name.startsWith(TUNNEL_PREFIX) && (l.kind === 'ipip' || l.kind === 'ip6tnl');

export interface TunnelView {
  name: string;
  remote?: string;
  /** "ipip", "ip6ip6" or "fou:PORT". */
  encap?: string;
  mtu?: number;
  up: boolean;
}

export interface TunnelChanges {
  created: string[];
  recreated: string[];
  removed: string[];
}

export class TunnelReconciler {
  constructor(private readonly rtnl: Rtnl) {}

  /** Our tunnels now. */
  async current(): Promise<Link[]> {
    return (await this.rtnl.links()).filter(isOurs);
  }

  /** Our tunnels as an operator wants to see them: name, endpoints, encapsulation, MTU. */
  async describe(): Promise<TunnelView[]> {
    return (await this.current())
      .map((l) => {
        const a = actual(l);
        return {
          name: l.name,
          ...(a ? { remote: a.remote, encap: a.encap === 'fou' ? `fou:${a.port}` : l.kind === 'ip6tnl' ? 'ip6ip6' : 'ipip' } : {}),
          ...(l.mtu ? { mtu: l.mtu } : {}),
          up: l.up,
        };
      })
      .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  }

  /** Makes our tunnels the desired ones; with `prune` false, extra tunnels stay (restart, not converged). */
  async reconcile(desired: readonly DesiredTunnel[], prune = true): Promise<TunnelChanges> {
    // GUE encapsulation is registered by the fou module, which nothing loads on demand: without
    // it the kernel refuses "encap gue" with EINVAL.
    if (desired.some((t) => t.encap === 'fou')) await run('modprobe', ['fou'], { allowFail: true });
    const have = new Map((await this.rtnl.links()).map((l) => [l.name, l]));
    const changes: TunnelChanges = { created: [], recreated: [], removed: [] };
    for (const t of desired) {
      let link = have.get(t.name);
      const now = link && isOurs(link) ? actual(link) : undefined;
      const same =
        now &&
        now.family === t.family &&
        now.local === t.local &&
        now.remote === t.remote &&
        now.encap === t.encap &&
        (t.encap === 'ipip' || now.port === t.port);
      if (link && !same) {
        // Another kind of link by that name, other endpoints, or another encapsulation: re-create.
        await this.rtnl.deleteLink(link.index);
        link = undefined;
        changes.recreated.push(t.name);
      }
      if (!link) {
        const kind = t.family === 4 ? 'ipip' : 'ip6tnl';
        try {
          await this.rtnl.createLink(t.name, kind, linkData(t));
        } catch (e) {
          const m = (e as Error).message;
          // No module for the link kind: the kernel answers "not supported".
          if (/EOPNOTSUPP|ENOTSUP|not supported/i.test(m))
            throw new Error(
              `cannot create tunnel ${t.name}: this kernel has no ${kind} support (module ${kind === 'ipip' ? 'ipip' : 'ip6_tunnel'}${t.encap === 'fou' ? ' and fou' : ''}); the overlay needs it`,
            );
          throw e;
        }
        link = await this.rtnl.link(t.name);
        if (!link) throw new Error(`tunnel ${t.name} was not created`);
        if (!changes.recreated.includes(t.name)) changes.created.push(t.name);
      }
      if (link.mtu !== t.mtu) await this.rtnl.setLink(link.index, { mtu: t.mtu });
      if (!link.up) await this.rtnl.setLink(link.index, { up: true });
    }
    if (prune) {
      const want = new Set(desired.map((t) => t.name));
      for (const l of have.values()) {
        if (!isOurs(l) || want.has(l.name)) continue;
        await this.rtnl.deleteLink(l.index);
        changes.removed.push(l.name);
      }
    }
    return changes;
  }
}
