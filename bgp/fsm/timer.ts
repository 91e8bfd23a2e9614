/**
 * A restartable one-shot timer with its own callback (BIRD's bgp_hold_timeout and friends).
 * Jitter (RFC 4271 10: 75-100% of the period) keeps peers from synchronising their timers.
 */
export class Timer {
  private handle: NodeJS.Timeout | undefined;
  private seconds = 0;

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
    const ms = seconds * 1000 * (this.jitter ? 0.75 + Math.random() * 0.25 : 1);
    this.handle = setTimeout(() => {
      this.handle = undefined;
      this.onExpire();
    }, ms);
    // Timers never keep the process alive on their own; sockets and servers do.
    this.handle.unref();
  }

  /** Starts again with the last period. */
  restart(): void {
    this.start(this.seconds);
  }

  stop(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }
}
