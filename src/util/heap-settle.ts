/**
 * Gives a burst's garbage back once the burst is over. A full table from a peer (100,000 routes)
 * leaves the old generation holding the burst's dead objects (decoded UPDATEs, changes, queued
 * advertisements) until V8's memory reducer runs, 10-30 s later (bench/rib-load: 10 s after a
 * packed load 97 MiB without this, 82 with it; 74-75 either way after 30 s). So once the routes
 * stop coming this runs one full collection, and a second a few seconds later. (The young
 * generation, which a burst grew to 32 MiB and which no collection reliably shrank, is kept at
 * 8 MiB by the agent's environment: process-env.ts.)
 * Small changes (a pod CIDR, a node) never trigger it, and a peer that flaps a full table every
 * few seconds gets at most one collection a minute (each one pauses the process).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from '../../bgp';

export interface HeapSettleOptions {
  /** Route changes since the last collection that make a burst. */
  minChanges?: number;
  /** Quiet time after the last change before collecting. */
  quietMs?: number;
  /** Time between the first collection and the second. */
  followMs?: number;
  /** Least time from one pair of collections to the next. */
  minIntervalMs?: number;
  /** The collection (tests pass their own); default: V8's full collection. */
  collect?: () => void;
}

/** V8's full collection, reached without --expose-gc on the command line. */
export function fullCollection(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  v8.setFlagsFromString('--expose-gc');
  // Only a context made after the flag has `gc`; the flag is put back for every later one.
  const gc = vm.runInNewContext('gc') as () => void;
  v8.setFlagsFromString('--no-expose-gc');
  return gc;
}

export class HeapSettle {
  private changes = 0;
  private timer: NodeJS.Timeout | undefined;
  private collect: (() => void) | undefined;
  private readonly minChanges: number;
  private readonly quietMs: number;
  private readonly followMs: number;
  private readonly minIntervalMs: number;
  /** When the last pair began (performance.now()); none yet. */
  private lastPair = -Infinity;

  constructor(
    private readonly log: Logger,
    options: HeapSettleOptions = {},
  ) {
    this.minChanges = options.minChanges ?? 5000;
    this.quietMs = options.quietMs ?? 5000;
    this.followMs = options.followMs ?? 3000;
    this.minIntervalMs = options.minIntervalMs ?? 60000;
    this.collect = options.collect;
  }

  /** Counts `n` route changes; a burst's end is the first quiet `quietMs` after it. */
  note(n: number): void {
    this.changes += n;
    if (this.changes < this.minChanges) return;
    clearTimeout(this.timer);
    const wait = Math.max(this.quietMs, this.lastPair + this.minIntervalMs - performance.now());
    this.timer = setTimeout(() => this.settle(true), wait).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private settle(first: boolean): void {
    this.timer = undefined;
    const changes = this.changes;
    this.changes = 0;
    if (first) this.lastPair = performance.now();
    try {
      this.collect ??= fullCollection();
      const before = process.memoryUsage.rss();
      const started = performance.now();
      this.collect();
      this.log.debug(
        { changes, ms: Math.round(performance.now() - started), rssBeforeMiB: mib(before), rssAfterMiB: mib(process.memoryUsage.rss()) },
        'full garbage collection after a burst of route changes',
      );
    } catch (err) {
      // Memory is only given back later, by V8 itself: not worth more than one line.
      this.collect = () => undefined;
      this.log.warn({ err: (err as Error).message }, 'cannot run a full garbage collection after route bursts; leaving it to V8');
      return;
    }
    if (first) this.timer = setTimeout(() => this.settle(false), this.followMs).unref();
  }
}

const mib = (bytes: number): number => Math.round(bytes / 1048576);
