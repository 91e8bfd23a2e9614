/** The decoded forms of the five BGP messages. */
import { MessageType } from './constants';
import type { Capability } from './capabilities';
import type { Attribute } from './attributes';
import type { PrefixKey } from '../../net';
import type { AttributeProblem, ErrorAction } from './error-handling';

export interface OpenMessage {
  type: MessageType.Open;
  version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS when the real ASN needs 4 octets). */
  myAs: number;
  holdTime: number;
  bgpId: string;
  capabilities: Capability[];
  /**
   * How many capabilities each Capabilities optional parameter held, in order. Senders differ
   * (one parameter for all, or one each); kept so re-encoding is byte-exact. Default: one.
   */
  paramLayout?: number[];
  /** RFC 9072 extended optional parameters length was used. */
  extendedParams?: boolean;
}

/** An UPDATE to encode; IPv4 prefixes may be given as numbers (PrefixKey). */
export interface UpdateMessage {
  type: MessageType.Update;
  /** Withdrawn IPv4 unicast prefixes (the classic field). */
  withdrawn: PrefixKey[];
  attributes: Attribute[];
  /** Reachable IPv4 unicast prefixes (the classic field). */
  nlri: PrefixKey[];
}

/**
 * An UPDATE as received: the RFC 7606 outcome travels with it. The classic fields' prefixes come
 * as numbers (PrefixKey; prefixText gives their text), those of MP_REACH/MP_UNREACH as text.
 */
export interface ReceivedUpdate extends UpdateMessage {
  action: ErrorAction;
  problems: AttributeProblem[];
  /** MP_REACH NLRI whose next hop was malformed: withdraw them (RFC 7606 7.11). */
  withdrawnByError: { afi: number; safi: number; nlri: string[] }[];
}

export interface NotificationMessage {
  type: MessageType.Notification;
  code: number;
  subcode: number;
  data: Buffer;
}

export interface KeepaliveMessage {
  type: MessageType.Keepalive;
}

export interface RouteRefreshMessage {
  type: MessageType.RouteRefresh;
  afi: number;
  safi: number;
  /** RFC 7313: 0 normal request, 1 BoRR, 2 EoRR (the former reserved octet). */
  subtype: number;
}

export type Message = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;
export type ReceivedMessage = OpenMessage | ReceivedUpdate | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;
