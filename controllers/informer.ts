/**
 * One informer per resource over @kubernetes/client-node's ListWatch: list, then watch from the
 * list's resourceVersion; after 410 Gone ListWatch lists again by itself. On any other error it
 * stops for good, so this wrapper restarts it with backoff (1 s doubling to 30 s; the delay
 * function is injectable). Handlers do not receive objects: every event only fires a coalesced
 * 'changed' signal, and controllers recompute from the whole cache (level-triggered).
 */
import { EventEmitter } from 'node:events';
import { KubeConfig, KubernetesListObject, KubernetesObject, ListWatch } from '@kubernetes/client-node';
import { DEFAULT_WATCH_TIMEOUTS, TimedWatch, WatchTimeouts } from './watch';

export interface InformerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface InformerOptions<T extends KubernetesObject> {
  /** For logs and metrics: "nodes", "services", ... */
  name: string;
  /** Watch path, e.g. /api/v1/nodes */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Delay before restart attempt n (1-based); default 1 s doubling to 30 s. */
  backoff?: (attempt: number) => number;
  /** Deadlines of watch requests (default DEFAULT_WATCH_TIMEOUTS); `list` brings its own. */
  watchTimeouts?: WatchTimeouts;
  log: InformerLogger;
}

export const defaultBackoff = (attempt: number): number => Math.min(30000, 1000 * 2 ** (attempt - 1));

export class Informer<T extends KubernetesObject> extends EventEmitter {
  private readonly lw: ListWatch<T>;
  private attempts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private pending = false;
  private stopped = true;
  /** Completed lists (the first one and each after a 410 or a restart). */
  lists = 0;
  restarts = 0;
  lastError: string | undefined;
  lastSyncAt: number | undefined;

  constructor(
    kc: KubeConfig,
    private readonly options: InformerOptions<T>,
  ) {
    super();
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await options.list();
      this.lists++;
      this.lastSyncAt = Date.now();
      this.attempts = 0;
      return result;
    };
    const watch = new TimedWatch(kc, options.watchTimeouts ?? DEFAULT_WATCH_TIMEOUTS, (err) => this.failed(err));
    this.lw = new ListWatch<T>(options.path, watch, list, false, options.labelSelector, options.fieldSelector);
    const changed = (): void => this.signal();
    this.lw.on('add', changed);
    this.lw.on('update', changed);
    this.lw.on('delete', changed);
    this.lw.on('error', (err?: unknown) => this.failed(err));
  }

  get name(): string {
    return this.options.name;
  }

  /** True once a list has completed: the cache reflects the API server. */
  get synced(): boolean {
    return this.lists > 0;
  }

  /** Starts listing and watching; resolves once the first attempt has been made (never rejects: a failure is retried). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.lw.start().catch((e: unknown) => this.failed(e));
    this.signal();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.lw.stop();
  }

  list(): readonly T[] {
    return this.lw.list();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  /** Coalesces a burst of events into one 'changed' on the next tick. */
  private signal(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.emit('changed', this);
    });
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    this.attempts++;
    this.restarts++;
    const e = err as { message?: string; statusCode?: number; code?: string };
    this.lastError = `${e?.statusCode ?? e?.code ?? ''} ${e?.message ?? String(err)}`.trim();
    const delay = (this.options.backoff ?? defaultBackoff)(this.attempts);
    this.options.log.warn({ informer: this.options.name, err: this.lastError, retryInMs: delay }, 'list/watch failed; restarting');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      // A failed start (the list call rejected) is one more failure: back off and try again.
      if (!this.stopped)
        this.lw.start().then(
          () => this.signal(),
          (e: unknown) => this.failed(e),
        );
    }, delay);
    this.restartTimer.unref();
  }
}
