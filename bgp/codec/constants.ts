/**
 * Wire constants of BGP-4 (RFC 4271) and the extensions this speaker implements.
 * Names follow the RFCs; values are IANA's.
 */

export const BGP_PORT = 179;
export const BGP_VERSION = 4;
/** RFC 4271 section 4.1: marker, length and type. */
export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 6793: placeholder ASN for a 4-octet AS in a 2-octet field. */
export const AS_TRANS = 23456;

export enum MessageType {
  Open = 1,
  Update = 2,
  Notification = 3,
  Keepalive = 4,
  RouteRefresh = 5,
}

export enum AttrCode {
  Origin = 1,
  AsPath = 2,
  NextHop = 3,
  MultiExitDisc = 4,
  LocalPref = 5,
  AtomicAggregate = 6,
  Aggregator = 7,
  Communities = 8,
  OriginatorId = 9,
  ClusterList = 10,
  MpReachNlri = 14,
  MpUnreachNlri = 15,
  ExtendedCommunities = 16,
  As4Path = 17,
  As4Aggregator = 18,
  LargeCommunities = 32,
}

/** Attribute flag bits, RFC 4271 section 4.3. */
export enum AttrFlag {
  Optional = 0x80,
  Transitive = 0x40,
  Partial = 0x20,
  ExtendedLength = 0x10,
}

export enum CapabilityCode {
  Multiprotocol = 1,
  RouteRefresh = 2,
  ExtendedNextHop = 5,
  GracefulRestart = 64,
  FourOctetAs = 65,
  AddPath = 69,
  EnhancedRouteRefresh = 70,
  Fqdn = 73,
  /** Pre-standard route refresh, still sent by some routers. */
  RouteRefreshCisco = 128,
}

export enum Afi {
  Ipv4 = 1,
  Ipv6 = 2,
}

export enum Safi {
  Unicast = 1,
}

export enum Origin {
  Igp = 0,
  Egp = 1,
  Incomplete = 2,
}

export enum AsPathSegmentType {
  AsSet = 1,
  AsSequence = 2,
}

/** ROUTE-REFRESH message subtypes, RFC 7313 section 3.2. */
export enum RouteRefreshSubtype {
  Normal = 0,
  BeginOfRouteRefresh = 1,
  EndOfRouteRefresh = 2,
}

/** The address families the speaker carries, in their configuration spelling. */
export type Family = 'ipv4-unicast' | 'ipv6-unicast';
export const FAMILIES: readonly Family[] = ['ipv4-unicast', 'ipv6-unicast'];

export function familyOf(afi: number, safi: number): Family | undefined {
  if (safi !== Safi.Unicast) return undefined;
  if (afi === Afi.Ipv4) return 'ipv4-unicast';
  if (afi === Afi.Ipv6) return 'ipv6-unicast';
  return undefined;
}

export function afiSafiOf(family: Family): { afi: Afi; safi: Safi } {
  return family === 'ipv4-unicast' ? { afi: Afi.Ipv4, safi: Safi.Unicast } : { afi: Afi.Ipv6, safi: Safi.Unicast };
}
