/**
 * A restartable one-shot timer with its own callback (BIRD's bgp_hold_timeout and friends).
 * Jitter (RFC 4271 10: 75-100% of the period) keeps peers from synchronising their timers.
 */
export class Timer {
  private handle: NodeJS.Timeout | undefined;
  private seconds = 0;
  /** When the armed timeout fires, and when the timer is due (later once postponed); performance.now() ms. */
  private firesAt = 0;
  private dueAt = 0;

  constructor(
    private readonly onExpire: () => void,
    private readonly jitter = false,
  ) {}

  get running(): boolean {
    return this.handle !== undefined;
  }

  start(seconds: number): void {
    this.stop();
    this.seconds = seconds;
    if (seconds <= 0) return;
    this.arm(this.periodMs(seconds));
  }

  /**
   * Makes the timer due `seconds` from now, as start() does, without re-arming it when it is
   * armed to fire before then: the hold timer is pushed back by every UPDATE, thousands a second
   * in a burst, and clearing and setting a Node timer for each was 3 % of taking in a table of
   * one-route UPDATEs. The armed timeout, firing early, waits for the rest.
   */
  postpone(seconds: number): void {
    if (seconds <= 0 || !this.handle) return this.start(seconds);
    const ms = this.periodMs(seconds);
    const due = performance.now() + ms;
    if (due < this.firesAt) return this.start(seconds);
    this.seconds = seconds;
    this.dueAt = due;
  }

  /** Starts again with the last period. */
  restart(): void {
    this.postpone(this.seconds);
  }

  stop(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }

  private periodMs(seconds: number): number {
    return seconds * 1000 * (this.jitter ? 0.75 + Math.random() * 0.25 : 1);
  }

  private arm(ms: number): void {
    this.firesAt = this.dueAt = performance.now() + ms;
    this.handle = setTimeout(() => this.fire(), ms);
    // Timers never keep the process alive on their own; sockets and servers do.
    this.handle.unref();
  }

  private fire(): void {
    this.handle = undefined;
    const left = this.dueAt - performance.now();
    // Postponed since it was armed (or the event loop's clock ran behind): wait for the rest.
    if (left >= 1) return this.arm(left);
    this.onExpire();
  }
}
