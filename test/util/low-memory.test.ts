/**
 * V8's low-memory notification through our addon: what a full collection from JS keeps (the young
 * generation grown by a burst, the old generation's emptied pages) goes back, read from V8's own
 * heap statistics.
 */
import v8 from 'node:v8';
import { fullCollection } from '../../src/util/heap-settle';
import { lowMemoryCollector } from '../../src/util/low-memory';

/** Committed bytes of V8's young generation and old generation. */
function committed(): { young: number; old: number } {
  const spaces = v8.getHeapSpaceStatistics();
  const size = (name: string): number => spaces.find((s) => s.space_name === name)?.space_size ?? 0;
  return { young: size('new_space'), old: size('old_space') };
}

/** A burst: objects that live long enough to grow the young generation and reach the old one, then die. */
function burst(): number {
  let kept: object[] = [];
  for (let i = 0; i < 2_000_000; i++) {
    const o = { i, list: [i, i + 1] };
    if (i % 4 === 0) kept.push(o);
    if (kept.length > 200_000) kept = [];
  }
  return kept.length;
}

describe('lowMemoryCollector', () => {
  it('gives back the young generation and the old generation pages that a full collection keeps', () => {
    const collect = fullCollection();
    const notify = lowMemoryCollector();
    expect(burst()).toBeGreaterThan(0);
    collect();
    const afterFull = committed();
    notify();
    const afterNotify = committed();
    // The young generation back to its least size (1 MiB here), from the several MiB the burst grew.
    expect(afterFull.young).toBeGreaterThan(2 * 2 ** 20);
    expect(afterNotify.young).toBeLessThanOrEqual(afterFull.young / 2);
    expect(afterNotify.old).toBeLessThan(afterFull.old);
  });
});
