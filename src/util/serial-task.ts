/**
 * A task that runs one at a time and coalesces triggers: a trigger while it runs schedules
 * exactly one more run. Failures are logged and retried with backoff (1 s doubling to 30 s),
 * so a reconcile that hits a transient error converges later without a tight loop. A trigger
 * may hand the task a new input (an immutable snapshot of desired state): each run gets the
 * latest one given, so loops share no mutable state, only values passed along.
 */
export interface TaskLogger {
  error(obj: object, msg?: string): void;
}

export class SerialTask<T = undefined> {
  private running = false;
  private input: T | undefined;
  private again = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  runs = 0;
  errors = 0;
  lastDurationMs = 0;
  lastSuccessAt: number | undefined;
  firstSuccessAt: number | undefined;
  lastError: string | undefined;

  constructor(
    readonly name: string,
    private readonly fn: (input: T | undefined) => Promise<void>,
    private readonly log: TaskLogger,
    /** Told of every run: its duration and whether it failed (for metrics). */
    private readonly onRun?: (name: string, ms: number, failed: boolean) => void,
  ) {}

  /** Runs the task (again) soon; with `input`, that run and later ones get it. */
  trigger(input?: T): void {
    if (input !== undefined) this.input = input;
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retry);
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }

  /** Resolves when no run is in progress (for orderly shutdown and tests). */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setTimeout(r, 10));
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const t0 = Date.now();
      let failed = false;
      try {
        await this.fn(this.input);
        this.runs++;
        this.failures = 0;
        this.lastSuccessAt = Date.now();
        this.firstSuccessAt ??= this.lastSuccessAt;
        this.lastError = undefined;
      } catch (e) {
        failed = true;
        this.errors++;
        this.failures++;
        this.lastError = (e as Error).message;
        const delay = Math.min(30000, 1000 * 2 ** (this.failures - 1));
        this.log.error({ task: this.name, err: (e as Error).message, retryInMs: delay }, `${this.name} failed`);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.trigger(), delay);
        this.retry.unref();
      } finally {
        this.lastDurationMs = Date.now() - t0;
        this.onRun?.(this.name, this.lastDurationMs, failed);
      }
    } while (this.again && !this.stopped);
    this.running = false;
  }
}
