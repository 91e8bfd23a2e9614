/**
 * One configured neighbor: its connections (one FSM each), collision resolution (RFC 4271 6.8),
 * automatic restarts after a session ends, and what it negotiated. It emits session events and
 * received messages; what routes mean is the speaker's business, not the peer's.
 */
import { EventEmitter } from 'node:events';
import { Connection, ConnectionOwner, ConnectionStats, PendingTransport, Transport, newCounters } from '../fsm/connection';
import { State, STATE_RANK } from '../fsm/states';
import { CeaseSubcode, ErrorCode, describeError } from '../codec/errors';
import { encodeMessage, notification, routeRefresh } from '../codec/message';
import { Family, afiSafiOf, familyOf, RouteRefreshSubtype } from '../codec/constants';
import type { OpenMessage, ReceivedUpdate, RouteRefreshMessage } from '../codec/messages';
import type { CodecContext } from '../codec/attributes';
import { buildOpen, LocalSettings, negotiate, Negotiated } from './negotiate';
import { ipv4ToNumber } from '../../net';
import { TransportFactory } from './transport';
import { isIpv4, normalizeAddress } from '../../net';
import { siblingIpv6 } from './addresses';
import type { Logger } from '../log';
import type { BfdSettings } from '../bfd/session';

export interface NeighborSettings {
  address: string;
  asn: number;
  port: number;
  passive: boolean;
  holdTime: number;
  connectRetry: number;
  families: Family[];
  password?: string;
  localAddress?: string;
  /** IP TTL of the session's packets (eBGP: 1, or the multihop TTL); unset: the system's. */
  ttl?: number;
  /** IPv6 next hop we advertise over an IPv4 session; found from the interface when unset. */
  nextHopIpv6?: string;
  description?: string;
  /** Most prefixes accepted per family (RFC 4271 8.1.2 / RFC 4486); more ends the session. */
  maxPrefixes?: number;
  /** How long the session stays down after the limit was hit, seconds (default 60). */
  maxPrefixesRestart?: number;
  /** We reflect routes to and from this iBGP peer as its route reflector (RFC 4456). */
  routeReflectorClient?: boolean;
  /** A BFD session (RFC 5880/5881) guards the BGP session: BFD down ends it (RFC 5882). */
  bfd?: BfdSettings;
}

export interface PeerCounters extends ConnectionStats {
  /** NOTIFICATIONs by "code/subcode". */
  notificationsSent: Record<string, number>;
  notificationsReceived: Record<string, number>;
  /** Routes withheld from this peer because they could not be encoded for it (too long). */
  routesNotSent: number;
  /** Incoming connections refused at once (a session was Established, or two were being set up). */
  connectionsRefused: number;
}

/** Longest wait before restarting after repeated failures, seconds. */
const MAX_IDLE_HOLD = 30;
/** Seconds a session stays down after its peer exceeded its prefix limit, unless configured. */
const DEFAULT_MAX_PREFIX_RESTART = 60;
/** Connections with an FSM at once: ours and the peer's while a collision is resolved. */
const MAX_CONNECTIONS = 2;
/** How long a refused connection may take to flush its NOTIFICATION before it is destroyed. */
const REFUSE_LINGER_MS = 1000;

export class Peer extends EventEmitter implements ConnectionOwner {
  readonly connections = new Set<Connection>();
  established: Connection | undefined;
  negotiated: Negotiated | undefined;
  establishedAt: number | undefined;
  /** When the state last changed to or from Established (gobgp's Up/Down column). */
  lastTransition = Date.now();
  lastError: string | undefined;
  flaps = 0;
  readonly counters: PeerCounters = {
    received: newCounters(),
    sent: newCounters(),
    notificationsSent: {},
    notificationsReceived: {},
    routesNotSent: 0,
    connectionsRefused: 0,
  };
  private primary: Connection | undefined;
  private enabled = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private lastState: State = State.Idle;
  private refusedLogged = false;
  /** Until when (ms since the epoch) the session stays down after a max-prefix shutdown. */
  private holdDownUntil = 0;

  constructor(
    readonly settings: NeighborSettings,
    private readonly local: LocalSettings,
    private readonly transports: TransportFactory,
    private readonly log: Logger,
  ) {
    super();
  }

  get address(): string {
    return this.settings.address;
  }

  get ibgp(): boolean {
    return this.settings.asn === this.local.asn;
  }

  get connectRetrySeconds(): number {
    return this.settings.connectRetry;
  }

  /** The most advanced state among this peer's connections. */
  get state(): State {
    let best = State.Idle;
    for (const c of this.connections) if (STATE_RANK[c.state] > STATE_RANK[best]) best = c.state;
    return best;
  }

  start(): void {
    if (this.enabled) return;
    this.enabled = true;
    this.startPrimary('ManualStart');
  }

  /** Ends every connection with Cease/subcode (RFC 4486) and stays down. */
  stop(subcode: CeaseSubcode = CeaseSubcode.AdministrativeShutdown, data?: Buffer): void {
    this.enabled = false;
    clearTimeout(this.restartTimer);
    for (const c of [...this.connections]) c.dispatch({ type: 'Shutdown', subcode, data });
  }

  /**
   * Ends every connection without a NOTIFICATION and stays down: our graceful restart (RFC
   * 4724). A peer that negotiated it keeps our routes, stale, until we are back or its timer ends.
   */
  release(reason: string): void {
    this.enabled = false;
    clearTimeout(this.restartTimer);
    for (const c of [...this.connections]) c.dispatch({ type: 'Release', reason });
  }

  /**
   * The peer sent more prefixes of `family` than it may (RFC 4486 Cease/1): the session ends
   * with AFI, SAFI and the limit as data, and stays down for the restart interval, incoming
   * connections included.
   */
  prefixLimitReached(family: Family, limit: number, received: number): void {
    const { afi, safi } = afiSafiOf(family);
    const data = Buffer.alloc(7);
    data.writeUInt16BE(afi, 0);
    data.writeUInt8(safi, 2);
    data.writeUInt32BE(Math.min(limit, 0xffffffff), 3);
    const seconds = this.settings.maxPrefixesRestart ?? DEFAULT_MAX_PREFIX_RESTART;
    this.holdDownUntil = Date.now() + seconds * 1000;
    this.log.warn(
      { event: 'maxPrefixes', family, limit, received, downFor: seconds },
      `neighbour sent ${received} ${family} prefixes, over its limit of ${limit}: closing the session for ${seconds} s`,
    );
    for (const c of [...this.connections]) c.dispatch({ type: 'Shutdown', subcode: CeaseSubcode.MaxPrefixes, data });
  }

  /**
   * The BFD session went down (RFC 5882 4.3): the BGP session ends at once with Cease/BFD Down
   * (RFC 9384), its routes withdrawn, and is retried as after any failure.
   */
  bfdDown(reason: string): void {
    if (!this.established) return;
    this.log.warn({ event: 'bfdDown', reason }, 'BFD session down: ending the BGP session');
    for (const c of [...this.connections]) c.dispatch({ type: 'Shutdown', subcode: CeaseSubcode.BfdDown });
  }

  /** Hard-resets the session (like `gobgp neighbor X reset`); it comes back by itself. */
  reset(): void {
    for (const c of [...this.connections]) c.dispatch({ type: 'Shutdown', subcode: CeaseSubcode.AdministrativeReset });
  }

  /**
   * An incoming TCP connection from this peer's address. At most two connections run an FSM at
   * once (RFC 4271 6.8: one each way while a collision is resolved); any further one, and any
   * while a session is Established, is refused at once, so a storm of connections from the
   * neighbour's address costs nothing but the accept. With graceful restart negotiated, a
   * connection beside the Established session may be the peer back from a restart whose old
   * session we have not seen end (RFC 4724 4.2): it runs, and its OPEN decides (losesCollision).
   */
  accept(socket: Transport): void {
    socket.on('error', () => undefined);
    if (!this.enabled || Date.now() < this.holdDownUntil) {
      socket.destroy();
      return;
    }
    const mayBeRestart = !!this.negotiated?.gracefulRestart;
    if ((this.established && !mayBeRestart) || this.connections.size >= MAX_CONNECTIONS) {
      this.refuse(socket);
      return;
    }
    clearTimeout(this.restartTimer);
    // Reuse the primary FSM while it only waits (Active); otherwise run a second FSM beside it.
    let conn = this.primary && this.primary.state === State.Active ? this.primary : undefined;
    if (!conn) {
      conn = new Connection(this, 'incoming', this.counters);
      this.connections.add(conn);
      if (!this.primary) this.primary = conn;
      conn.dispatch({ type: 'AutomaticStartPassive' });
    }
    conn.attach(socket);
    conn.dispatch({ type: 'TcpConnectionConfirmed' });
  }

  /**
   * RFC 4271 6.8: a connection colliding with an Established session is closed with Cease/
   * Connection Collision Resolution; the socket is destroyed shortly after whatever the peer
   * does. Logged once per burst (until a session comes up again), counted always.
   */
  private refuse(socket: Transport): void {
    this.counters.connectionsRefused++;
    if (!this.refusedLogged) {
      this.refusedLogged = true;
      const why = this.established ? 'a session is already Established' : `${MAX_CONNECTIONS} connections are already being set up`;
      this.log.info({ event: 'collision' }, `refusing new connections from this neighbour: ${why} (logged once; see connectionsRefused)`);
    }
    if (this.established) {
      (socket as Transport & { end(data?: Buffer): void }).end(
        encodeMessage(notification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution)),
      );
      setTimeout(() => socket.destroy(), REFUSE_LINGER_MS).unref();
    } else {
      socket.destroy();
    }
  }

  /** Sends an encoded UPDATE on the established session. */
  send(buf: Buffer): boolean {
    return this.established?.send(buf) ?? false;
  }

  onDrain(listener: () => void): void {
    this.established?.onDrain(listener);
  }

  /** Asks the peer to resend its routes of a family (RFC 2918); false if it cannot. */
  requestRefresh(family: Family): boolean {
    if (!this.established || !this.negotiated?.routeRefresh || !this.negotiated.families.includes(family)) return false;
    const { afi, safi } = afiSafiOf(family);
    this.established.send(encodeMessage(routeRefresh(afi, safi, RouteRefreshSubtype.Normal)));
    return true;
  }

  /** RFC 7313 Begin/End-of-RIB markers around a re-advertisement, when negotiated. */
  sendRefreshMarker(family: Family, subtype: RouteRefreshSubtype.BeginOfRouteRefresh | RouteRefreshSubtype.EndOfRouteRefresh): void {
    if (!this.established || !this.negotiated?.enhancedRouteRefresh) return;
    const { afi, safi } = afiSafiOf(family);
    this.established.send(encodeMessage(routeRefresh(afi, safi, subtype)));
  }

  /** The codec context of the established session (4-octet AS or not). */
  get codec(): CodecContext {
    return this.established?.codec ?? { as4: true };
  }

  get localAddress(): string | undefined {
    return normalizeAddress(this.established?.localAddress);
  }

  /**
   * The next hop we put on routes of `family` toward this peer (next-hop-self), or undefined
   * when we have none to offer and must not advertise that family to it.
   */
  localNextHop(family: Family): string | undefined {
    const local = this.localAddress;
    if (!local) return undefined;
    const v4session = isIpv4(local);
    if (family === 'ipv4-unicast') {
      if (v4session) return local;
      // IPv4 NLRI over an IPv6 session: RFC 8950 lets us use our IPv6 address when negotiated.
      return this.negotiated?.extendedNextHop ? local : this.local.routerId;
    }
    if (!v4session) return local;
    // IPv6 NLRI over an IPv4 session needs an IPv6 next hop (BIRD drops the route otherwise);
    // an IPv4-mapped one only toward a peer that negotiated extended next hop.
    const v6 = this.settings.nextHopIpv6 ?? siblingIpv6(local);
    if (v6) return v6;
    return this.negotiated?.extendedNextHop ? `::ffff:${local}` : undefined;
  }

  // --- ConnectionOwner ---

  openTransport(): PendingTransport {
    return this.transports.connect({
      address: this.settings.address,
      port: this.settings.port,
      localAddress: this.settings.localAddress,
      password: this.settings.password,
      ttl: this.settings.ttl,
    });
  }

  localOpen(): OpenMessage {
    return buildOpen({ ...this.local, holdTime: this.settings.holdTime, families: this.settings.families });
  }

  acceptOpen(_conn: Connection, open: OpenMessage): { holdTime: number; codec: CodecContext } {
    const n = negotiate({ ...this.local, holdTime: this.settings.holdTime, families: this.settings.families }, this.settings.asn, open);
    return { holdTime: n.holdTime, codec: { as4: n.as4 } };
  }

  losesCollision(conn: Connection): boolean {
    const remoteId = conn.peerOpen ? ipv4ToNumber(conn.peerOpen.bgpId) : 0;
    const localId = ipv4ToNumber(this.local.routerId);
    for (const other of this.connections) {
      if (other === conn) continue;
      if (other.state === State.Established) {
        if (!this.restartedWith(conn)) return true;
        // RFC 4724 4.2: an OPEN with graceful restart while its session is Established means the
        // peer restarted: the old session ends without a NOTIFICATION, its routes kept as stale.
        other.dispatch({ type: 'Release', reason: 'peer restarted (new OPEN with graceful restart, RFC 4724 4.2)' });
        continue;
      }
      if (other.state !== State.OpenConfirm) continue;
      // RFC 4271 6.8: the higher identifier keeps the connection it initiated. Equal
      // identifiers (allowed between ASes, RFC 6286 2.3): the larger AS keeps its own.
      const weKeepOurs = localId !== remoteId ? localId > remoteId : this.local.asn > this.settings.asn;
      const loser = weKeepOurs ? (conn.direction === 'incoming' ? conn : other) : conn.direction === 'outgoing' ? conn : other;
      this.log.info({ event: 'collision', kept: loser === conn ? other.direction : conn.direction }, 'connection collision resolved');
      if (loser === conn) return true;
      other.dispatch({ type: 'OpenCollisionDump' });
    }
    return false;
  }

  /** Whether a new connection's OPEN is the restart of a peer whose session negotiated graceful restart. */
  private restartedWith(conn: Connection): boolean {
    if (!this.negotiated?.gracefulRestart || !conn.peerOpen) return false;
    return conn.peerOpen.capabilities.some((c) => c.kind === 'gracefulRestart');
  }

  onEstablished(conn: Connection): void {
    this.established = conn;
    this.refusedLogged = false;
    this.negotiated = negotiate(
      { ...this.local, holdTime: this.settings.holdTime, families: this.settings.families },
      this.settings.asn,
      conn.peerOpen!,
    );
    this.establishedAt = Date.now();
    this.lastTransition = this.establishedAt;
    this.failures = 0;
    for (const other of [...this.connections]) {
      if (other !== conn) other.dispatch({ type: 'Shutdown', subcode: CeaseSubcode.ConnectionCollisionResolution });
    }
    this.primary = conn;
    this.log.info(
      {
        event: 'established',
        peerAsn: this.negotiated.peerAsn,
        routerId: this.negotiated.peerRouterId,
        holdTime: this.negotiated.holdTime,
        families: this.negotiated.families,
      },
      'session established',
    );
    this.emit('established', this);
  }

  onSessionDown(conn: Connection, reason: string, notified: boolean): void {
    if (conn !== this.established) return;
    // RFC 4724 4.2: routes of a peer that may restart gracefully are kept, for these families.
    const gr = notified ? undefined : this.negotiated?.gracefulRestart;
    this.established = undefined;
    this.negotiated = undefined;
    this.establishedAt = undefined;
    this.lastTransition = Date.now();
    this.lastError = reason;
    this.flaps++;
    this.log.warn({ event: 'down', reason, gracefulRestart: gr ? gr.restartTime : undefined }, 'session down');
    this.emit('down', this, reason, gr);
  }

  onIdle(conn: Connection, reason: string): void {
    this.connections.delete(conn);
    if (conn === this.primary) this.primary = undefined;
    if (!this.established) this.lastError = reason;
    if (!this.enabled || this.connections.size > 0) return;
    this.failures++;
    // Passive peers just wait again; active ones back off before dialing (RFC 4271 8.1.1 IdleHoldTime).
    // After a max-prefix shutdown both wait out the restart interval.
    const backoff = this.settings.passive ? 0 : Math.min(MAX_IDLE_HOLD, 2 ** Math.min(this.failures - 1, 5));
    const delay = Math.max(backoff, (this.holdDownUntil - Date.now()) / 1000);
    this.log.debug({ event: 'idle', reason, restartIn: delay }, 'connection closed');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.enabled && this.connections.size === 0) this.startPrimary('AutomaticStart');
    }, delay * 1000);
    this.restartTimer.unref();
  }

  onUpdate(_conn: Connection, update: ReceivedUpdate): void {
    this.emit('update', this, update);
  }

  onRouteRefresh(_conn: Connection, msg: RouteRefreshMessage): void {
    const family = familyOf(msg.afi, msg.safi);
    // RFC 2918 4: a refresh for a family that was not negotiated is ignored.
    if (!family || !this.negotiated?.families.includes(family)) {
      this.log.info({ event: 'routeRefresh', afi: msg.afi, safi: msg.safi }, 'ignoring ROUTE-REFRESH for a family not negotiated');
      return;
    }
    this.emit('routeRefresh', this, family, msg.subtype);
  }

  onNotification(_conn: Connection, dir: 'sent' | 'received', code: number, subcode: number, data: Buffer): void {
    const key = `${code}/${subcode}`;
    const table = dir === 'sent' ? this.counters.notificationsSent : this.counters.notificationsReceived;
    table[key] = (table[key] ?? 0) + 1;
    const text = describeError(code, subcode);
    this.log.warn(
      { event: 'notification', dir, code, subcode, data: data.length ? data.toString('hex') : undefined },
      `${dir} NOTIFICATION: ${text}`,
    );
    this.emit('notification', this, dir, code, subcode);
  }

  onStateChange(conn: Connection, from: State, to: State): void {
    this.log.debug({ event: 'fsm', direction: conn.direction, from, to }, 'FSM transition');
    const now = this.state;
    if (now !== this.lastState) {
      this.lastState = now;
      this.emit('state', this, now);
    }
  }

  onInternalError(_conn: Connection, err: unknown): void {
    this.log.error({ event: 'bug', err }, 'BUG: exception while handling a message; resetting the session');
  }

  private startPrimary(kind: 'ManualStart' | 'AutomaticStart'): void {
    const conn = new Connection(this, this.settings.passive ? 'incoming' : 'outgoing', this.counters);
    this.primary = conn;
    this.connections.add(conn);
    if (this.settings.passive) conn.dispatch({ type: kind === 'ManualStart' ? 'ManualStartPassive' : 'AutomaticStartPassive' });
    else conn.dispatch({ type: kind });
  }
}
