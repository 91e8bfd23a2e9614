/**
 * Gives memory back: start-up's garbage once BGP has converged, a burst's garbage once the burst
 * is over, and malloc's free pages always. Each collection is V8's low-memory notification
 * (low-memory.ts): unlike a full collection asked for from JS, it also shrinks the young
 * generation and unmaps the old generation's emptied pages at once. An idle lab agent's RSS 30 s
 * after convergence, which V8's memory reducer brought down only 20-60 s after start (58.4-62.2
 * MiB), was 58.6-59.5 with one notification 5 s after convergence (docs/benchmarks.md).
 * - A full table from a peer (100,000 routes) leaves the old generation holding the burst's dead
 *   objects (decoded UPDATEs, changes, queued advertisements) until V8's memory reducer runs,
 *   10-30 s later. So once the routes stop coming (a quarter second without a change) this runs
 *   one full collection, and a second a few seconds later: bench/rib-load measured 84-86 MiB
 *   half a second after a packed load with the first one 250 ms after it (and malloc trimmed),
 *   96-98 with it 5 s after (V8 unmaps the freed pages in the background within that half
 *   second; docs/benchmarks.md). Small changes (a pod CIDR, a node) never trigger it, and a peer
 *   that flaps a full table every few seconds gets at most one pair a minute (each collection
 *   pauses the process: 70-80 ms with 24 MiB live, as after a 100k-route table, where a full
 *   collection from JS took 30 ms; 10-20 ms for an idle agent). With the low-memory
 *   notification the young generation, which a burst grows to 8 MiB (process-env.ts), goes back
 *   to 1 MiB as well: 57 MiB half a second after a packed load instead of 67-70, 84 after a
 *   unique-MED one instead of 96-106.
 * - malloc's heap is trimmed after each collection and every 5 s (malloc-trim.ts): 1-2 MiB of an
 *   idle agent's RSS, 4 MiB after a packed load. An idle agent's heap grows by 1-2 MiB within
 *   seconds of a trim (a sync's commands, a scrape) and stays there until the next: with a trim
 *   every 30 s its readings had a median 0.7 MiB higher (docs/benchmarks.md). A trim of a heap
 *   that size takes well under a millisecond.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from '../../bgp';
import { lowMemoryCollector } from './low-memory';
import { mallocTrimmer } from './malloc-trim';

export interface HeapSettleOptions {
  /** Route changes since the last collection that make a burst. */
  minChanges?: number;
  /** Quiet time after the last change before collecting. */
  quietMs?: number;
  /** Time between the first collection and the second. */
  followMs?: number;
  /** Least time from one pair of collections to the next. */
  minIntervalMs?: number;
  /** The collection (tests pass their own); default: V8's low-memory notification (low-memory.ts), else its full collection. */
  collect?: () => void;
  /** Time between two trims of malloc's heap (0: only after collections). */
  trimEveryMs?: number;
  /** The trim (tests pass their own); default: malloc_trim through our addon. */
  trim?: () => boolean;
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
  private trim: (() => boolean) | undefined;
  /** False once the trim could not be loaded or failed: said once, not tried again. */
  private trimming = true;
  private readonly trimTimer: NodeJS.Timeout | undefined;
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
    this.quietMs = options.quietMs ?? 250;
    this.followMs = options.followMs ?? 3000;
    this.minIntervalMs = options.minIntervalMs ?? 60000;
    this.collect = options.collect;
    this.trim = options.trim;
    const every = options.trimEveryMs ?? 5000;
    if (every > 0) this.trimTimer = setInterval(() => this.trimMalloc(), every).unref();
  }

  /** Counts `n` route changes; a burst's end is the first quiet `quietMs` after it. */
  note(n: number): void {
    this.changes += n;
    if (this.changes < this.minChanges) return;
    clearTimeout(this.timer);
    const wait = Math.max(this.quietMs, this.lastPair + this.minIntervalMs - performance.now());
    this.timer = setTimeout(() => this.settle(true, 'a burst of route changes'), wait).unref();
  }

  /**
   * One full collection and a trim `ms` from now, outside the burst accounting (start-up's
   * garbage once the node has converged); a burst's pending collection already does it.
   */
  settleIn(ms: number): void {
    if (this.timer === undefined) this.timer = setTimeout(() => this.settle(false, 'start-up'), ms).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.trimTimer);
    this.timer = undefined;
  }

  /** Trims malloc's heap; an addon that cannot be loaded is said once and not tried again. */
  private trimMalloc(): void {
    if (!this.trimming) return;
    try {
      this.trim ??= mallocTrimmer();
      this.trim();
    } catch (err) {
      this.trimming = false;
      this.log.warn({ err: (err as Error).message }, "cannot trim malloc's heap; its free pages stay in the RSS");
    }
  }

  /** Collects and trims; `first` of a burst's pair, after `why` (for the log). */
  private settle(first: boolean, why: string): void {
    this.timer = undefined;
    const changes = this.changes;
    this.changes = 0;
    if (first) this.lastPair = performance.now();
    try {
      this.collect ??= this.defaultCollection();
      const before = process.memoryUsage.rss();
      const started = performance.now();
      this.collect();
      this.trimMalloc();
      this.log.debug(
        {
          after: why,
          changes,
          ms: Math.round(performance.now() - started),
          rssBeforeMiB: mib(before),
          rssAfterMiB: mib(process.memoryUsage.rss()),
        },
        'garbage collected and memory given back',
      );
    } catch (err) {
      // Memory is only given back later, by V8 itself: not worth more than one line.
      this.collect = () => undefined;
      this.log.warn({ err: (err as Error).message }, 'cannot run a garbage collection to give memory back; leaving it to V8');
      return;
    }
    if (first) this.timer = setTimeout(() => this.settle(false, why), this.followMs).unref();
  }

  /** The low-memory notification; without its addon, a full collection that gives back less (said once). */
  private defaultCollection(): () => void {
    try {
      return lowMemoryCollector();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "V8's low-memory notification unavailable: full collections keep their emptied pages");
      return fullCollection();
    }
  }
}

const mib = (bytes: number): number => Math.round(bytes / 1048576);
