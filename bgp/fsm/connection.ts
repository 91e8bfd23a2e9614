/**
 * One TCP connection to a peer and the FSM instance that runs it (RFC 4271 8: one FSM per
 * connection while a collision is being resolved). The driver turns socket bytes and timer
 * expiries into FSM events, runs `transition`, and executes the resulting actions. Everything
 * a peer decides (OPEN contents, negotiation, collisions, what an UPDATE means) comes from the
 * owner, so this file knows BGP framing and timers only.
 */
import { EventEmitter } from 'node:events';
import { Framer } from '../codec/framer';
import { decodeMessage, encodeMessage, keepalive, notification } from '../codec/message';
import { BgpError, ErrorCode, OpenSubcode, describeError } from '../codec/errors';
import { MessageType } from '../codec/constants';
import type { CodecContext } from '../codec/attributes';
import type { OpenMessage, ReceivedUpdate, RouteRefreshMessage } from '../codec/messages';
import { transition } from './table';
import { Action, FsmEvent, State } from './states';
import { Timer } from './timer';

/** The part of a socket the driver uses; net.Socket satisfies it, tests may pass a fake. */
export interface Transport {
  write(data: Buffer): boolean;
  end(): void;
  destroy(): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'drain', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
  readonly localAddress?: string | undefined;
  readonly remoteAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly remotePort?: number | undefined;
}

export type Direction = 'outgoing' | 'incoming';

/** An outgoing connection in progress. */
export interface PendingTransport {
  done: Promise<Transport>;
  cancel(): void;
}

/** What the connection asks of its peer. */
export interface ConnectionOwner {
  readonly connectRetrySeconds: number;
  /** Opens an outgoing TCP connection; `done` resolves once it is established. */
  openTransport(): PendingTransport;
  localOpen(conn: Connection): OpenMessage;
  /** Validates the peer's OPEN; throws BgpError for the NOTIFICATION. Returns the hold time. */
  acceptOpen(conn: Connection, open: OpenMessage): { holdTime: number; codec: CodecContext };
  /** RFC 4271 6.8: true when this connection loses a collision and must be closed. */
  losesCollision(conn: Connection): boolean;
  onEstablished(conn: Connection): void;
  /**
   * The session left Established. `notified` tells whether a NOTIFICATION was sent or received
   * on the way (RFC 4724: only a session lost without one may be restarted gracefully).
   */
  onSessionDown(conn: Connection, reason: string, notified: boolean): void;
  /** The connection is back in Idle (closed). */
  onIdle(conn: Connection, reason: string): void;
  /** An exception escaped our own code while handling this connection: a bug, to be logged. */
  onInternalError(conn: Connection, err: unknown): void;
  onUpdate(conn: Connection, update: ReceivedUpdate): void;
  onRouteRefresh(conn: Connection, msg: RouteRefreshMessage): void;
  onNotification(conn: Connection, dir: 'sent' | 'received', code: number, subcode: number, data: Buffer): void;
  onStateChange(conn: Connection, from: State, to: State): void;
}

export interface MessageCounters {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
  total: number;
}

export const newCounters = (): MessageCounters => ({ open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0, total: 0 });
const COUNTER_OF: Record<number, keyof MessageCounters> = {
  [MessageType.Open]: 'open',
  [MessageType.Update]: 'update',
  [MessageType.Notification]: 'notification',
  [MessageType.Keepalive]: 'keepalive',
  [MessageType.RouteRefresh]: 'routeRefresh',
};

/** How long a closing connection may take to flush a NOTIFICATION before it is destroyed. */
const LINGER_MS = 1000;
const LARGE_HOLD_SECONDS = 240;

export interface ConnectionStats {
  received: MessageCounters;
  sent: MessageCounters;
}

export class Connection extends EventEmitter {
  state: State = State.Idle;
  /** The peer's OPEN once received. */
  peerOpen: OpenMessage | undefined;
  codec: CodecContext = { as4: false };
  holdTime = 0;

  private transport: Transport | undefined;
  private framer = new Framer();
  /** Bumped whenever the transport is dropped, so late callbacks of an old one are ignored. */
  private generation = 0;
  private readonly connectRetry: Timer;
  private readonly hold: Timer;
  private readonly keepaliveTimer: Timer;
  private pendingUpdate: ReceivedUpdate | undefined;
  private pendingRefresh: RouteRefreshMessage | undefined;
  private pendingConnect: PendingTransport | undefined;
  private dispatching = false;
  private queue: FsmEvent[] = [];

  /** The last NOTIFICATION sent or received, for the reason a session ended. */
  private notice: string | undefined;

  constructor(
    private readonly owner: ConnectionOwner,
    /** Who opened the TCP connection; set again when a transport is bound. */
    public direction: Direction,
    /** Message counters, shared by all connections of one peer so they outlive each one. */
    readonly stats: ConnectionStats = { received: newCounters(), sent: newCounters() },
  ) {
    super();
    this.connectRetry = new Timer(() => this.dispatch({ type: 'ConnectRetryTimerExpires' }), true);
    this.hold = new Timer(() => this.dispatch({ type: 'HoldTimerExpires' }));
    this.keepaliveTimer = new Timer(() => this.dispatch({ type: 'KeepaliveTimerExpires' }), true);
  }

  get localAddress(): string | undefined {
    return this.transport?.localAddress;
  }

  get remoteAddress(): string | undefined {
    return this.transport?.remoteAddress;
  }

  get connected(): boolean {
    return this.transport !== undefined;
  }

  /** Bytes of a message received only in part, waiting for the rest. */
  get bufferedBytes(): number {
    return this.framer.buffered;
  }

  /** Adopts an accepted socket (incoming connections). */
  attach(transport: Transport): void {
    this.direction = 'incoming';
    this.bind(transport);
  }

  /**
   * Feeds one event through the table and runs its actions. Events raised while actions run
   * (a socket error during a write, say) are queued so every transition completes first.
   */
  dispatch(event: FsmEvent): void {
    this.queue.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) {
        try {
          this.step(e);
        } catch (err) {
          this.failed(err);
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private step(e: FsmEvent): void {
    const from = this.state;
    const step = transition(from, e);
    this.state = step.next;
    if (step.next !== State.Idle) this.notice = undefined;
    const base = step.reason ?? `left ${from} on ${e.type}`;
    for (const action of step.actions) this.run(action, () => (this.notice ? `${base} (${this.notice})` : base));
    if (from !== step.next) this.owner.onStateChange(this, from, step.next);
    if (step.next === State.Idle && from !== State.Idle) this.owner.onIdle(this, this.notice ? `${base} (${this.notice})` : base);
  }

  /**
   * An exception escaped while running a transition: timers, sockets and owner callbacks all
   * funnel through dispatch, so this is where a bug is contained. The connection ends (Cease)
   * and the process, and every other session, go on.
   */
  private failed(err: unknown): void {
    this.owner.onInternalError(this, err);
    this.queue.length = 0;
    if (this.state !== State.Idle) {
      this.queue.push({ type: 'Shutdown', subcode: 0 });
      return;
    }
    // Already Idle, but the transition did not finish: release everything without owner code
    // (which just failed), then let the owner forget this connection.
    this.connectRetry.stop();
    this.hold.stop();
    this.keepaliveTimer.stop();
    this.drop();
    try {
      this.owner.onIdle(this, 'internal error');
    } catch (again) {
      this.owner.onInternalError(this, again);
    }
  }

  /** Sends a prepared UPDATE (or other message); restarts the keepalive timer (RFC 4271 4.4). */
  send(buf: Buffer): boolean {
    if (!this.transport) return false;
    this.count(this.stats.sent, buf);
    if (buf[18] === MessageType.Update && this.keepaliveTimer.running) this.keepaliveTimer.restart();
    return this.transport.write(buf);
  }

  /** Calls back once the socket's write buffer has drained (or at once if it has). */
  onDrain(listener: () => void): void {
    if (this.transport) this.transport.once('drain', listener);
  }

  private run(action: Action, reason: () => string): void {
    switch (action.type) {
      case 'connect':
        this.startConnect();
        break;
      case 'drop':
        this.drop();
        break;
      case 'sendOpen':
        this.write(encodeMessage(this.owner.localOpen(this)));
        break;
      case 'sendKeepalive':
        this.write(keepalive());
        break;
      case 'sendNotification': {
        const data = action.data ?? Buffer.alloc(0);
        this.write(encodeMessage(notification(action.code, action.subcode, data)));
        this.notice = `sent ${describeError(action.code, action.subcode)}`;
        this.owner.onNotification(this, 'sent', action.code, action.subcode, data);
        break;
      }
      case 'startConnectRetryTimer':
        this.connectRetry.start(this.owner.connectRetrySeconds);
        break;
      case 'stopConnectRetryTimer':
        this.connectRetry.stop();
        break;
      case 'startHoldTimer':
        this.hold.start(action.seconds === 'large' ? LARGE_HOLD_SECONDS : action.seconds);
        break;
      case 'restartHoldTimer':
        if (this.holdTime > 0) this.hold.postpone(this.holdTime);
        break;
      case 'stopHoldTimer':
        this.hold.stop();
        break;
      case 'startKeepaliveTimer':
        if (this.holdTime > 0) this.keepaliveTimer.start(Math.max(1, Math.floor(this.holdTime / 3)));
        break;
      case 'stopKeepaliveTimer':
        this.keepaliveTimer.stop();
        break;
      case 'processUpdate':
        if (this.pendingUpdate) this.owner.onUpdate(this, this.pendingUpdate);
        this.pendingUpdate = undefined;
        break;
      case 'processRouteRefresh':
        if (this.pendingRefresh) this.owner.onRouteRefresh(this, this.pendingRefresh);
        this.pendingRefresh = undefined;
        break;
      case 'sessionUp':
        this.owner.onEstablished(this);
        break;
      case 'sessionDown':
        this.owner.onSessionDown(this, reason(), this.notice !== undefined);
        break;
    }
  }

  private startConnect(): void {
    const gen = ++this.generation;
    const pending = this.owner.openTransport();
    this.pendingConnect = pending;
    pending.done.then(
      (t) => {
        if (gen !== this.generation || this.state !== State.Connect) {
          t.destroy();
          return;
        }
        this.pendingConnect = undefined;
        this.direction = 'outgoing';
        this.bind(t);
        this.dispatch({ type: 'TcpCrAcked' });
      },
      (err: Error) => {
        if (gen === this.generation) this.dispatch({ type: 'TcpConnectionFails', reason: err.message });
      },
    );
  }

  private bind(t: Transport): void {
    const gen = ++this.generation;
    this.transport = t;
    this.framer = new Framer();
    t.on('data', (chunk) => {
      if (gen === this.generation) this.receive(chunk);
    });
    t.on('error', (err) => {
      if (gen === this.generation) this.dispatch({ type: 'TcpConnectionFails', reason: err.message });
    });
    t.on('close', () => {
      if (gen === this.generation) this.dispatch({ type: 'TcpConnectionFails', reason: 'closed by peer' });
    });
  }

  private write(buf: Buffer): void {
    if (!this.transport) return;
    this.count(this.stats.sent, buf);
    this.transport.write(buf);
  }

  /** Closes the transport: gracefully (so a NOTIFICATION just written still goes out), then for sure. */
  private drop(): void {
    this.generation++;
    this.pendingConnect?.cancel();
    this.pendingConnect = undefined;
    const t = this.transport;
    this.transport = undefined;
    this.framer = new Framer();
    this.pendingUpdate = undefined;
    this.pendingRefresh = undefined;
    if (!t) return;
    t.on('error', () => undefined);
    t.end();
    setTimeout(() => t.destroy(), LINGER_MS).unref();
  }

  private count(c: MessageCounters, buf: Buffer): void {
    const key = COUNTER_OF[buf[18] ?? 0];
    if (key) c[key]++;
    c.total++;
  }

  private receive(chunk: Buffer): void {
    let messages: Buffer[];
    try {
      messages = this.framer.push(chunk);
    } catch (e) {
      this.dispatch(errorEvent(e));
      return;
    }
    const gen = this.generation;
    for (const buf of messages) {
      // Stop as soon as a message ended this connection.
      if (gen !== this.generation || !this.transport) return;
      this.count(this.stats.received, buf);
      try {
        this.handleMessage(buf);
      } catch (e) {
        // Our bug, not the peer's: log it and end the session cleanly rather than crash.
        this.owner.onInternalError(this, e);
        this.dispatch({ type: 'Shutdown', subcode: 0 });
        return;
      }
    }
  }

  private handleMessage(buf: Buffer): void {
    const type = buf[18];
    // Messages the current state does not expect are FSM errors (RFC 6608) whatever their
    // content, so they are not decoded: UPDATE or ROUTE-REFRESH before Established (whose codec
    // context is not even known yet), and an OPEN anywhere but OpenSent.
    if (this.state !== State.Established && (type === MessageType.Update || type === MessageType.RouteRefresh)) {
      this.dispatch({ type: type === MessageType.Update ? 'UpdateMsg' : 'RouteRefreshMsg' });
      return;
    }
    if (this.state !== State.OpenSent && type === MessageType.Open) {
      this.dispatch({ type: 'BgpOpen', holdTime: 0 });
      return;
    }
    let msg;
    try {
      msg = decodeMessage(buf, this.codec);
    } catch (e) {
      this.dispatch(errorEvent(e));
      return;
    }
    switch (msg.type) {
      case MessageType.Open:
        this.handleOpen(msg);
        break;
      case MessageType.Update:
        this.pendingUpdate = msg;
        this.dispatch({ type: 'UpdateMsg' });
        break;
      case MessageType.Notification:
        this.notice = `received ${describeError(msg.code, msg.subcode)}`;
        this.owner.onNotification(this, 'received', msg.code, msg.subcode, msg.data);
        this.dispatch(
          msg.code === ErrorCode.OpenMessage && msg.subcode === OpenSubcode.UnsupportedVersionNumber
            ? { type: 'NotifMsgVerErr' }
            : { type: 'NotifMsg', code: msg.code, subcode: msg.subcode },
        );
        break;
      case MessageType.Keepalive:
        this.dispatch({ type: 'KeepAliveMsg' });
        break;
      case MessageType.RouteRefresh:
        this.pendingRefresh = msg;
        this.dispatch({ type: 'RouteRefreshMsg' });
        break;
    }
  }

  private handleOpen(open: OpenMessage): void {
    let accepted: { holdTime: number; codec: CodecContext };
    try {
      accepted = this.owner.acceptOpen(this, open);
    } catch (e) {
      this.dispatch(errorEvent(e, 'BgpOpenMsgErr'));
      return;
    }
    this.peerOpen = open;
    this.holdTime = accepted.holdTime;
    this.codec = accepted.codec;
    if (this.owner.losesCollision(this)) {
      this.dispatch({ type: 'OpenCollisionDump' });
      return;
    }
    this.dispatch({ type: 'BgpOpen', holdTime: accepted.holdTime });
  }
}

/** Maps a decode failure to the FSM event whose action sends its NOTIFICATION. */
function errorEvent(e: unknown, forOpen?: 'BgpOpenMsgErr'): FsmEvent {
  if (!(e instanceof BgpError)) throw e;
  const detail = { code: e.code, subcode: e.subcode, data: e.data };
  if (forOpen || e.code === ErrorCode.OpenMessage) return { type: 'BgpOpenMsgErr', ...detail };
  if (e.code === ErrorCode.MessageHeader) return { type: 'BgpHeaderErr', ...detail };
  return { type: 'UpdateMsgErr', ...detail };
}
