/**
 * The prefix index's table of IPv4 keys: every sequence of adds and deletes answers as a Map
 * would, including deletions inside runs that wrap around the end of the buckets, growth, and
 * slots given to a new key after the old one left.
 */
import { NumberTable } from '../../../bgp/rib/number-table';

/** A small deterministic generator (xorshift), so a failure repeats. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Compares every key ever used, present or not. */
function expectSame(t: NumberTable, model: Map<number, number>, used: Iterable<number>): void {
  for (const k of used) expect(t.get(k)).toBe(model.get(k));
  expect(t.size).toBe(model.size);
}

describe('NumberTable', () => {
  it('finds, adds and deletes', () => {
    const t = new NumberTable();
    t.add(5, 0);
    t.add(2 ** 52 + 3, 1);
    expect(t.get(5)).toBe(0);
    expect(t.get(2 ** 52 + 3)).toBe(1);
    expect(t.get(6)).toBeUndefined();
    expect(t.size).toBe(2);
    expect(t.delete(5)).toBe(true);
    expect(t.delete(5)).toBe(false);
    expect(t.get(5)).toBeUndefined();
    expect(t.size).toBe(1);
    // The slot goes to another key; the old key stays gone.
    t.add(9, 0);
    expect(t.get(9)).toBe(0);
    expect(t.get(5)).toBeUndefined();
    // A slot far past the others.
    t.add(11, 5000);
    expect(t.get(11)).toBe(5000);
  });

  it.each([1, 2, 3, 4, 5, 6])('answers as a Map through 20,000 random adds and deletes over a few keys (seed %d)', (seed) => {
    // Few distinct keys in a small table: long runs, wrap-around, and a delete inside nearly
    // every run. Slots are reused as the prefix index reuses them (freed ones first).
    const next = random(seed * 7919);
    const t = new NumberTable();
    const model = new Map<number, number>();
    const free: number[] = [];
    let slots = 0;
    const keys = Array.from({ length: 62 }, (_, i) => (i % 2 ? 0x0a000000 + i : 0xc0a80000 + i * 256) * 64 + 32 - (i % 9));
    for (let i = 0; i < 20000; i++) {
      const k = keys[Math.floor(next() * keys.length)]!;
      if (next() < 0.5) {
        const slot = model.get(k);
        expect(t.delete(k)).toBe(slot !== undefined);
        if (slot !== undefined) {
          model.delete(k);
          free.push(slot);
        }
      } else if (!model.has(k)) {
        const slot = free.pop() ?? slots++;
        t.add(k, slot);
        model.set(k, slot);
      }
      if (i % 97 === 0) expectSame(t, model, keys);
    }
    expectSame(t, model, keys);
  });

  it('grows to 100,000 /32 keys, loses none, and deletes them all', () => {
    const t = new NumberTable();
    const key = (i: number) => (0x0b000000 + i) * 64 + 32;
    for (let i = 0; i < 100000; i++) t.add(key(i), i);
    expect(t.size).toBe(100000);
    for (let i = 0; i < 100000; i++) if (t.get(key(i)) !== i) throw new Error(`key ${i} lost`);
    // Every other one gone, then the rest: runs close up as they empty.
    for (let i = 0; i < 100000; i += 2) t.delete(key(i));
    for (let i = 1; i < 100000; i += 2) if (t.get(key(i)) !== i) throw new Error(`key ${i} lost after deletes`);
    for (let i = 1; i < 100000; i += 2) t.delete(key(i));
    expect(t.size).toBe(0);
    expect(t.get(key(1))).toBeUndefined();
  });

  it('spreads keys that differ only in a few high bits or a few low ones', () => {
    // Not a proof against a chosen set of keys, but the patterns a peer would try first:
    // addresses 2^20 apart, and one address with every length.
    for (const step of [2 ** 20 * 64, 2 ** 32, 64, 1]) {
      const t = new NumberTable();
      for (let i = 0; i < 4000; i++) t.add(0x0a000000 * 64 + i * step, i);
      for (let i = 0; i < 4000; i++) expect(t.get(0x0a000000 * 64 + i * step)).toBe(i);
      // 4,000 keys in 8,192 buckets: a good spread keeps every key within a few dozen of its home
      // (random keys: 30-40 at most; keys that all shared a home would reach 3,999).
      expect(t.farthest()).toBeLessThan(100);
    }
  });
});
