/**
 * One BFD session in Asynchronous mode (RFC 5880 6.8): the state variables of 6.8.1, reception
 * (6.8.6), transmission with jitter (6.8.7), detection time (6.8.4) and the Poll Sequence that
 * makes a change of intervals take effect (6.8.3). It owns two timers and a send function; the
 * sockets and demultiplexing are the manager's (manager.ts). Demand mode, Echo and
 * authentication are not offered (as GoBGP's BFD for kube-router).
 */
import { EventEmitter } from 'node:events';
import { BfdState, ControlPacket, DIAG_TEXT, Diag, STATE_NAMES, encodeControl } from './packet';
import { RECEIVED_EVENT, BfdEvent, bfdTransition } from './fsm';
import type { Logger } from '../log';

export interface BfdSettings {
  /** UDP destination port of Control packets (RFC 5881: 3784), and the one we listen on. */
  port: number;
  detectMultiplier: number;
  /** Milliseconds, as kube-router's flags. */
  desiredMinTxMs: number;
  requiredMinRxMs: number;
}

export const DEFAULT_BFD: BfdSettings = { port: 3784, detectMultiplier: 3, desiredMinTxMs: 1000, requiredMinRxMs: 1000 };

/** Longest interval in ms: the wire carries 32-bit microseconds (RFC 5880 4.1). */
export const BFD_MAX_INTERVAL_MS = Math.floor(0xffffffff / 1000);

/** What is wrong with a setting (kube-router's ranges), or undefined. */
export function bfdSettingError(field: keyof BfdSettings, value: number): string | undefined {
  const [min, max, what] =
    field === 'port'
      ? [1, 65535, 'a UDP port (1-65535)']
      : field === 'detectMultiplier'
        ? [1, 255, 'a detection multiplier (1-255)']
        : [1, BFD_MAX_INTERVAL_MS, `an interval in milliseconds (1-${BFD_MAX_INTERVAL_MS})`];
  return Number.isInteger(value) && value >= min && value <= max ? undefined : `${JSON.stringify(value)} is not ${what}`;
}

/** 6.8.3: while not Up, packets go at most once a second. */
const SLOW_TX_US = 1_000_000;

export interface BfdSessionView {
  state: string;
  remoteState: string;
  localDiscr: number;
  remoteDiscr: number;
  /** Our last diagnostic: why the session last went down. */
  diag: string;
  /** What we send at, and after how long without a packet the session goes down (ms). */
  txIntervalMs: number;
  detectTimeMs: number;
  packetsSent: number;
  packetsReceived: number;
  /** Packets this session ignored (see `receive`). */
  packetsIgnored: number;
  /** Times the session went from Up to Down. */
  downs: number;
}

export interface BfdSessionEvents {
  state: [from: BfdState, to: BfdState, diag: Diag];
  /** The session went down from Up by a failure (not by the neighbour's AdminDown, RFC 5882 3.2). */
  failed: [reason: string];
}

export class BfdSession extends EventEmitter<BfdSessionEvents> {
  state = BfdState.Down;
  remoteState = BfdState.Down;
  remoteDiscr = 0;
  private localDiag = Diag.None;
  /** Microseconds, as on the wire (6.8.1 names). */
  private desiredMinTx: number;
  private readonly requiredMinRx: number;
  private remoteMinRx = 1;
  private remoteDesiredMinTx = 0;
  private remoteDetectMult = 0;
  /** The transmit base interval in force; lags desiredMinTx when it grows, until the poll ends. */
  private txBase: number;
  private polling = false;
  private txTimer: NodeJS.Timeout | undefined;
  private detectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly counters = { sent: 0, received: 0, ignored: 0, downs: 0 };

  constructor(
    readonly peer: string,
    readonly localDiscr: number,
    private readonly settings: BfdSettings,
    private readonly send: (packet: Buffer) => void,
    private readonly log: Logger,
  ) {
    super();
    this.requiredMinRx = settings.requiredMinRxMs * 1000;
    this.desiredMinTx = Math.max(SLOW_TX_US, settings.desiredMinTxMs * 1000);
    this.txBase = this.desiredMinTx;
  }

  start(): void {
    this.transmit();
  }

  /**
   * A valid Control packet addressed to this session (RFC 5880 6.8.6, after the manager's checks).
   * One hardening beyond the RFC: once the neighbour's discriminator is known and the session is
   * not Down, a packet that does not name ours and comes with another discriminator is ignored, so
   * a forged "Down" from the neighbour's address takes the session down no faster than silence.
   */
  receive(p: ControlPacket): void {
    if (this.closed) return;
    if (p.yourDiscr === 0 && this.remoteDiscr !== 0 && p.myDiscr !== this.remoteDiscr && this.state !== BfdState.Down) {
      this.counters.ignored++;
      return;
    }
    this.counters.received++;
    this.remoteDiscr = p.myDiscr;
    this.remoteState = p.state;
    this.remoteMinRx = p.requiredMinRx;
    this.remoteDesiredMinTx = p.desiredMinTx;
    this.remoteDetectMult = p.detectMult;
    if (p.final && this.polling) {
      this.polling = false;
      this.txBase = this.desiredMinTx;
    }
    this.armDetect();
    if (this.state !== BfdState.AdminDown) this.apply(RECEIVED_EVENT[p.state]);
    // 6.8.7: a Poll is answered at once with Final, outside the periodic schedule.
    if (p.poll) this.sendNow(true);
  }

  /** Ends the session: the neighbour is told AdminDown (it must not treat that as a failure). */
  close(): void {
    if (this.closed) return;
    this.apply('AdminDown');
    this.sendNow(false);
    this.closed = true;
    clearTimeout(this.txTimer);
    clearTimeout(this.detectTimer);
  }

  /** Current detection time in ms (0 before anything was received). */
  get detectTimeMs(): number {
    return (this.remoteDetectMult * Math.max(this.requiredMinRx, this.remoteDesiredMinTx)) / 1000;
  }

  view(): BfdSessionView {
    return {
      state: STATE_NAMES[this.state],
      remoteState: STATE_NAMES[this.remoteState],
      localDiscr: this.localDiscr,
      remoteDiscr: this.remoteDiscr,
      diag: DIAG_TEXT[this.localDiag] ?? String(this.localDiag),
      txIntervalMs: this.txIntervalUs() / 1000,
      detectTimeMs: this.detectTimeMs,
      packetsSent: this.counters.sent,
      packetsReceived: this.counters.received,
      packetsIgnored: this.counters.ignored,
      downs: this.counters.downs,
    };
  }

  private apply(event: BfdEvent): void {
    const from = this.state;
    const step = bfdTransition(from, event);
    if (step.diag !== undefined) this.localDiag = step.diag;
    if (step.next === from) return;
    this.state = step.next;
    if (step.next === BfdState.Up) this.setDesiredMinTx(Math.max(1, this.settings.desiredMinTxMs) * 1000);
    else if (from === BfdState.Up) {
      this.setDesiredMinTx(Math.max(SLOW_TX_US, this.settings.desiredMinTxMs * 1000));
      this.counters.downs++;
    }
    const diag = this.localDiag;
    this.log.info(
      { event: 'bfd', from: STATE_NAMES[from], to: STATE_NAMES[step.next], diag: DIAG_TEXT[diag] },
      `BFD session ${STATE_NAMES[from]} -> ${STATE_NAMES[step.next]}`,
    );
    this.emit('state', from, step.next, diag);
    // RFC 5882 3.2: the neighbour's AdminDown is not a path failure; the client keeps its session.
    if (from === BfdState.Up && step.next === BfdState.Down && this.remoteState !== BfdState.AdminDown)
      this.emit('failed', `BFD down: ${DIAG_TEXT[diag]}`);
  }

  /**
   * 6.8.3: a new DesiredMinTxInterval while Up starts a Poll Sequence; a larger one takes effect
   * on the transmit schedule only when the Final arrives, a smaller one at once.
   */
  private setDesiredMinTx(us: number): void {
    if (us === this.desiredMinTx) return;
    const wasUp = this.state === BfdState.Up;
    if (us < this.txBase || !wasUp) this.txBase = us;
    this.desiredMinTx = us;
    if (wasUp) this.polling = true;
    else this.polling = false;
    this.reschedule();
  }

  private txIntervalUs(): number {
    return Math.max(this.txBase, this.remoteMinRx);
  }

  /** 6.8.4: Init or Up with no packet for the detection time goes Down; in any state the neighbour is forgotten. */
  private armDetect(): void {
    clearTimeout(this.detectTimer);
    const ms = this.detectTimeMs;
    if (ms <= 0) return;
    this.detectTimer = setTimeout(() => this.detectExpired(), ms);
    this.detectTimer.unref();
  }

  private detectExpired(): void {
    if (this.closed) return;
    this.apply('DetectTimeout');
    this.remoteDiscr = 0;
    this.remoteState = BfdState.Down;
    this.remoteMinRx = 1;
    this.remoteDesiredMinTx = 0;
    this.remoteDetectMult = 0;
    this.reschedule();
  }

  private reschedule(): void {
    if (this.closed || !this.txTimer) return;
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.txTimer);
    // 6.8.7: jitter of up to 25 % below the interval (10-25 % with a multiplier of 1).
    const jitter = this.settings.detectMultiplier === 1 ? 0.75 + Math.random() * 0.15 : 0.75 + Math.random() * 0.25;
    this.txTimer = setTimeout(() => this.transmit(), (this.txIntervalUs() / 1000) * jitter);
    this.txTimer.unref();
  }

  private transmit(): void {
    if (this.closed) return;
    // 6.8.7: a neighbour asking for no packets (RequiredMinRxInterval 0) gets none.
    if (this.remoteMinRx !== 0) this.sendNow(false);
    this.schedule();
  }

  private sendNow(final: boolean): void {
    const packet: ControlPacket = {
      diag: this.localDiag,
      state: this.state,
      poll: this.polling && !final,
      final,
      cpi: false,
      auth: false,
      demand: false,
      detectMult: this.settings.detectMultiplier,
      myDiscr: this.localDiscr,
      yourDiscr: this.remoteDiscr,
      desiredMinTx: this.desiredMinTx,
      requiredMinRx: this.requiredMinRx,
      requiredMinEchoRx: 0,
    };
    this.counters.sent++;
    this.send(encodeControl(packet));
  }
}
