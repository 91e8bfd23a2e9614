/**
 * What we put in our OPEN, and what the peer's OPEN leaves us with: checks of RFC 4271 6.2
 * (version, AS, hold time, identifier) and the intersection of capabilities (RFC 5492).
 * Pure functions; a rejected OPEN throws the BgpError whose NOTIFICATION ends the session.
 */
import { AS_TRANS, BGP_VERSION, Afi, Family, MessageType, afiSafiOf, familyOf } from '../codec/constants';
import { BgpError, ErrorCode, OpenSubcode } from '../codec/errors';
import type { Capability } from '../codec/capabilities';
import type { OpenMessage } from '../codec/messages';
import { ipv4ToNumber } from '../../net';

export interface LocalSettings {
  asn: number;
  routerId: string;
  /** Hold time we offer, seconds (0, or at least 3). */
  holdTime: number;
  families: readonly Family[];
  hostname?: string;
  domain?: string;
  /** RFC 4724: advertised when set. */
  gracefulRestart?: { restartTime: number; restarting: boolean; preserved: boolean };
  /** RFC 8950: offer to receive IPv4 unicast with IPv6 next hops. */
  extendedNextHop?: boolean;
}

export interface Negotiated {
  peerAsn: number;
  peerRouterId: string;
  holdTime: number;
  keepaliveTime: number;
  families: Family[];
  as4: boolean;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  /** The peer accepts IPv4 unicast NLRI with an IPv6 next hop (both sides said so). */
  extendedNextHop: boolean;
  /** Set when both sides advertised graceful restart (RFC 4724). */
  gracefulRestart?: { restartTime: number; restartFlags: number; families: Family[]; preservedFamilies: Family[] };
  hostname?: string;
  peerCapabilities: Capability[];
}

export function buildOpen(local: LocalSettings): OpenMessage {
  const caps: Capability[] = [];
  for (const f of local.families) caps.push({ kind: 'multiprotocol', ...afiSafiOf(f) });
  caps.push({ kind: 'routeRefresh' }, { kind: 'enhancedRouteRefresh' }, { kind: 'fourOctetAs', asn: local.asn });
  if (local.gracefulRestart) {
    const gr = local.gracefulRestart;
    caps.push({
      kind: 'gracefulRestart',
      restartFlags: gr.restarting ? 0x8 : 0,
      restartTime: gr.restartTime,
      families: local.families.map((f) => ({ ...afiSafiOf(f), flags: gr.preserved ? 0x80 : 0 })),
    });
  }
  if (local.extendedNextHop && local.families.includes('ipv4-unicast')) {
    caps.push({ kind: 'extendedNextHop', entries: [{ afi: Afi.Ipv4, safi: 1, nextHopAfi: Afi.Ipv6 }] });
  }
  if (local.hostname) caps.push({ kind: 'fqdn', hostname: local.hostname, domain: local.domain ?? '' });
  return {
    type: MessageType.Open,
    version: BGP_VERSION,
    myAs: local.asn > 0xffff ? AS_TRANS : local.asn,
    holdTime: local.holdTime,
    bgpId: local.routerId,
    capabilities: caps,
  };
}

const openError = (subcode: OpenSubcode, detail: string, data = Buffer.alloc(0)): BgpError =>
  new BgpError(ErrorCode.OpenMessage, subcode, data, detail);

export function negotiate(local: LocalSettings, expectedPeerAsn: number, open: OpenMessage): Negotiated {
  if (open.version !== BGP_VERSION) {
    // RFC 4271 6.2: data is the largest supported version, as a 2-octet number.
    throw openError(OpenSubcode.UnsupportedVersionNumber, `version ${open.version}`, Buffer.from([0, BGP_VERSION]));
  }
  const caps = open.capabilities;
  const as4Cap = caps.find((c): c is Extract<Capability, { kind: 'fourOctetAs' }> => c.kind === 'fourOctetAs');
  const peerAsn = as4Cap ? as4Cap.asn : open.myAs;
  // RFC 7607: AS 0 is never valid.
  if (peerAsn === 0 || peerAsn !== expectedPeerAsn) {
    throw openError(OpenSubcode.BadPeerAs, `peer says AS ${peerAsn}, configured ${expectedPeerAsn}`);
  }
  if (open.holdTime === 1 || open.holdTime === 2) throw openError(OpenSubcode.UnacceptableHoldTime, `hold time ${open.holdTime}`);
  const idNum = ipv4ToNumber(open.bgpId);
  if (idNum === 0) throw openError(OpenSubcode.BadBgpIdentifier, 'BGP identifier 0.0.0.0');
  // RFC 6286 2.2: identifiers must differ within an AS (eBGP peers may share one).
  if (peerAsn === local.asn && idNum === ipv4ToNumber(local.routerId)) {
    throw openError(OpenSubcode.BadBgpIdentifier, `iBGP peer uses our own identifier ${open.bgpId}`);
  }

  const holdTime = Math.min(local.holdTime, open.holdTime);
  const mp = caps.filter((c): c is Extract<Capability, { kind: 'multiprotocol' }> => c.kind === 'multiprotocol');
  // RFC 4760 8: a peer advertising no Multiprotocol capability speaks IPv4 unicast only.
  const peerFamilies = mp.length ? mp.map((c) => familyOf(c.afi, c.safi)) : ['ipv4-unicast'];
  const families = local.families.filter((f) => peerFamilies.includes(f));
  const has = (kind: Capability['kind']): boolean => caps.some((c) => c.kind === kind);
  const gr = caps.find((c): c is Extract<Capability, { kind: 'gracefulRestart' }> => c.kind === 'gracefulRestart');
  const enh = caps.find((c): c is Extract<Capability, { kind: 'extendedNextHop' }> => c.kind === 'extendedNextHop');
  const fqdn = caps.find((c): c is Extract<Capability, { kind: 'fqdn' }> => c.kind === 'fqdn');

  const result: Negotiated = {
    peerAsn,
    peerRouterId: open.bgpId,
    holdTime,
    keepaliveTime: Math.floor(holdTime / 3),
    families,
    as4: as4Cap !== undefined,
    routeRefresh: has('routeRefresh') || has('routeRefreshCisco'),
    enhancedRouteRefresh: has('enhancedRouteRefresh'),
    extendedNextHop: !!local.extendedNextHop && !!enh?.entries.some((e) => e.afi === Afi.Ipv4 && e.safi === 1 && e.nextHopAfi === Afi.Ipv6),
    peerCapabilities: caps,
  };
  if (gr && local.gracefulRestart) {
    const fam = (list: typeof gr.families): Family[] =>
      list.map((f) => familyOf(f.afi, f.safi)).filter((f): f is Family => f !== undefined);
    result.gracefulRestart = {
      restartTime: gr.restartTime,
      restartFlags: gr.restartFlags,
      families: fam(gr.families),
      // RFC 4724 3: bit 0x80 of the per-family flags, Forwarding State preserved.
      preservedFamilies: fam(gr.families.filter((f) => f.flags & 0x80)),
    };
  }
  if (fqdn) result.hostname = fqdn.domain ? `${fqdn.hostname}.${fqdn.domain}` : fqdn.hostname;
  return result;
}
