/**
 * One informer per resource, as client-go's reflector does it: list, then watch from the list's
 * resourceVersion, following bookmarks; a watch the server ends is resumed from the last
 * version seen; 410 Gone (that version compacted away) lists again. Any other failure (a list or
 * watch that errs or times out, credentials that cannot be read) is retried with backoff (1 s
 * doubling to 30 s; injectable), resuming the watch when the cache is still valid.
 * Handlers do not receive objects: every change fires one coalesced 'changed' signal and
 * controllers recompute from the whole cache (level-triggered). Objects are cached as the API
 * server sent them, less what no controller reads (`transform`; managedFields always go).
 */
import { EventEmitter } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import { DEFAULT_LIST_TIMEOUT_MS, DEFAULT_WATCH_TIMEOUTS, listJson, watchStream, type WatchEvent, type WatchTimeouts } from './watch';

export interface InformerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface InformerOptions<T extends KubernetesObject> {
  /** For logs and metrics: "nodes", "services", ... */
  name: string;
  /** Collection path, e.g. /api/v1/nodes */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Trims an object before it is cached: drop what no controller reads. */
  transform?: (obj: T) => T;
  /** Delay before restart attempt n (1-based); default 1 s doubling to 30 s. */
  backoff?: (attempt: number) => number;
  /** Deadline of each list request, ms (default DEFAULT_LIST_TIMEOUT_MS). */
  listTimeoutMs?: number;
  /** Deadlines of watch requests (default DEFAULT_WATCH_TIMEOUTS). */
  watchTimeouts?: WatchTimeouts;
  log: InformerLogger;
}

export const defaultBackoff = (attempt: number): number => Math.min(30000, 1000 * 2 ** (attempt - 1));

/** A watch that ends this soon without an event counts as a failure, so a server that closes every watch at once is not hammered. */
const SHORTEST_CLEAN_WATCH_MS = 1000;

function keyOf(o: KubernetesObject | undefined): string | undefined {
  const name = o?.metadata?.name;
  if (typeof name !== 'string' || !name) return undefined;
  const ns = o!.metadata!.namespace;
  return typeof ns === 'string' && ns ? `${ns}/${name}` : name;
}

function versionOf(o: unknown): string | undefined {
  const rv = (o as KubernetesObject | undefined)?.metadata?.resourceVersion;
  return typeof rv === 'string' && rv ? rv : undefined;
}

export class Informer<T extends KubernetesObject> extends EventEmitter {
  private cache = new Map<string, T>();
  /** Where the watch resumes; undefined: the cache must be (re)listed first. */
  private resourceVersion: string | undefined;
  private watch: AbortController | undefined;
  /** Bumped by start and stop: callbacks of an earlier run are ignored. */
  private generation = 0;
  private attempts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private pending = false;
  private stopped = true;
  /** Completed lists (the first one and each after a 410 or a failed list). */
  lists = 0;
  restarts = 0;
  lastError: string | undefined;
  lastSyncAt: number | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly options: InformerOptions<T>,
  ) {
    super();
  }

  get name(): string {
    return this.options.name;
  }

  /** True once a list has completed: the cache reflects the API server. */
  get synced(): boolean {
    return this.lists > 0;
  }

  /** Starts listing and watching; resolves once the first list was attempted (never rejects: a failure is retried). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.resourceVersion = undefined;
    await this.cycle(++this.generation);
    this.signal();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    clearTimeout(this.restartTimer);
    this.watch?.abort();
    this.watch = undefined;
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get size(): number {
    return this.cache.size;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  private current(gen: number): boolean {
    return !this.stopped && gen === this.generation;
  }

  /** One attempt: list if the cache needs it, then watch. */
  private async cycle(gen: number): Promise<void> {
    try {
      if (this.resourceVersion === undefined) await this.relist(gen);
      if (this.current(gen)) this.openWatch(gen);
    } catch (e) {
      this.failed(e, gen);
    }
  }

  private selectors(): Record<string, string | undefined> {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  private async relist(gen: number): Promise<void> {
    const { path, listTimeoutMs = DEFAULT_LIST_TIMEOUT_MS } = this.options;
    const list = (await listJson(this.kc, path, this.selectors(), listTimeoutMs)) as { metadata?: unknown; items?: unknown };
    if (!this.current(gen)) return;
    if (!list || !Array.isArray(list.items)) throw new Error(`list ${path}: the response has no items`);
    const next = new Map<string, T>();
    for (const item of list.items as T[]) {
      const key = keyOf(item);
      if (key) next.set(key, this.trim(item));
    }
    this.cache = next;
    this.resourceVersion = versionOf(list) ?? '';
    this.lists++;
    this.lastSyncAt = Date.now();
    this.attempts = 0;
    this.signal();
  }

  private openWatch(gen: number): void {
    const { path, watchTimeouts = DEFAULT_WATCH_TIMEOUTS } = this.options;
    const opened = Date.now();
    let events = 0;
    const query = { ...this.selectors(), resourceVersion: this.resourceVersion || undefined };
    this.watch = watchStream(
      this.kc,
      path,
      query,
      watchTimeouts,
      (e) => {
        if (!this.current(gen)) return;
        if (events++ === 0) this.attempts = 0;
        this.event(e);
      },
      (err) => {
        if (!this.current(gen)) return;
        this.watch = undefined;
        if (err) this.failed(err, gen);
        else if (events === 0 && Date.now() - opened < SHORTEST_CLEAN_WATCH_MS)
          this.failed(new Error(`watch ${path}: closed at once`), gen);
        else void this.cycle(gen);
      },
    );
  }

  private event({ type, object }: WatchEvent): void {
    const key = keyOf(object as T);
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
        if (key) this.cache.set(key, this.trim(object as T));
        break;
      case 'DELETED':
        if (key) this.cache.delete(key);
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const status = object as { code?: number; message?: string } | undefined;
        // 410: our version was compacted away; list again once the server closes this stream.
        if (status?.code === 410) {
          this.resourceVersion = undefined;
          return;
        }
        throw new Error(`watch ${this.options.path}: ${status?.code ?? ''} ${status?.message ?? 'error event'}`.trim());
      }
      default:
        return;
    }
    this.resourceVersion = versionOf(object) ?? this.resourceVersion;
    if (type !== 'BOOKMARK') this.signal();
  }

  private trim(obj: T): T {
    if (obj.metadata && 'managedFields' in obj.metadata) delete obj.metadata.managedFields;
    return this.options.transform ? this.options.transform(obj) : obj;
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

  private failed(err: unknown, gen: number): void {
    // Reached from a list that failed or a watch that ended: nothing is open to abort here
    // (aborting would report the same failure a second time through the watch's callback).
    if (!this.current(gen)) return;
    this.attempts++;
    this.restarts++;
    const e = err as { message?: string; statusCode?: number; code?: string };
    this.lastError = `${e?.statusCode ?? e?.code ?? ''} ${e?.message ?? String(err)}`.trim();
    const delay = (this.options.backoff ?? defaultBackoff)(this.attempts);
    this.options.log.warn({ informer: this.options.name, err: this.lastError, retryInMs: delay }, 'list/watch failed; restarting');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.cycle(gen), delay);
    this.restartTimer.unref();
  }
}
