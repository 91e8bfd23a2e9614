/**
 * BGP daemons from Debian (BIRD, FRR, GoBGP, ExaBGP) as processes in namespaces, each with one
 * neighbor: the peers of the interop tests, the fixture captures and the benchmarks. This is what
 * every one of them offers, whatever its own CLI looks like.
 */
import { ipFamily } from '../../net';
import type { Netns } from '../netns';

export type DaemonKind = 'bird' | 'frr' | 'gobgp' | 'exabgp';
export type Afi = 'ipv4' | 'ipv6';

export interface DaemonOptions {
  ns: Netns;
  /** Scratch directory for configuration, sockets, logs. */
  dir: string;
  asn: number;
  /** IPv4 session address, also the router ID. */
  address: string;
  /** IPv6 global address on the same interface: next hop for IPv6 routes. */
  address6: string;
  neighbor: {
    address: string;
    asn: number;
    /** The daemon waits for the neighbor to connect. */
    passive?: boolean;
    holdTime?: number;
    /** TCP MD5 key (RFC 2385). */
    password?: string;
    /** eBGP multihop with this TTL (BIRD): the neighbour is behind routers. */
    multihop?: number;
  };
  /** Prefixes the daemon originates from the start. */
  routes?: string[];
  /** Attributes the daemon puts on what it announces (fixture captures use these). */
  attributes?: {
    med?: number;
    localPref?: number;
    /** "65001:100" */
    communities?: string[];
    /** "65001:1:2" */
    largeCommunities?: string[];
  };
  /**
   * Be a route reflector (RFC 4456; BIRD and FRR): the neighbour and `extraClients` (iBGP peers
   * in the daemon's AS) are its clients, `clusterId` its cluster ID.
   */
  routeReflector?: { clusterId: string; extraClients: string[] };
  /** Advertise graceful restart with this restart time (BIRD, FRR, GoBGP). */
  gracefulRestart?: number;
  /** BFD on the session (BIRD only): both intervals in ms, and the detection multiplier. */
  bfd?: { intervalMs: number; multiplier: number };
  /** Do not advertise the 4-octet AS capability (ExaBGP only): a 2-octet "OLD" speaker. */
  noAs4?: boolean;
}

export interface DaemonRoute {
  prefix: string;
  nextHop: string;
  asPath: number[];
  origin: 'i' | 'e' | '?';
  localPref?: number;
  med?: number;
}

export interface PeerDaemon {
  readonly kind: DaemonKind;
  readonly options: DaemonOptions;
  /** The daemon's own view of its session with the neighbor. */
  established(): Promise<boolean>;
  /** Routes the daemon learned from the neighbor (not its own). */
  routes(afi: Afi): Promise<DaemonRoute[]>;
  announce(prefix: string): Promise<void>;
  withdraw(prefix: string): Promise<void>;
  /**
   * Makes the daemon send a ROUTE-REFRESH to the neighbor. Resolves to a reason string when the
   * daemon's tools cannot do that (nothing was sent), otherwise to undefined.
   */
  requestRefresh(): Promise<string | undefined>;
  /** Freezes the daemon (SIGSTOP): it goes silent without closing the connection. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export const afiOf = (prefix: string): Afi => (ipFamily(prefix) === 6 ? 'ipv6' : 'ipv4');
