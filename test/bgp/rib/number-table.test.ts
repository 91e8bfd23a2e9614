/**
 * The prefix index's table of IPv4 keys: every sequence of sets and deletes answers as a Map
 * would, including deletions inside runs that wrap around the end of the arrays and growth.
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
  it('gets, overwrites and deletes', () => {
    const t = new NumberTable();
    t.set(5, 1);
    t.set(2 ** 52 + 3, 2);
    expect(t.get(5)).toBe(1);
    expect(t.get(2 ** 52 + 3)).toBe(2);
    expect(t.get(6)).toBeUndefined();
    t.set(5, 7);
    expect(t.get(5)).toBe(7);
    expect(t.size).toBe(2);
    expect(t.delete(5)).toBe(true);
    expect(t.delete(5)).toBe(false);
    expect(t.get(5)).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it.each([1, 2, 3, 4, 5, 6])('answers as a Map through 20,000 random sets and deletes over a few keys (seed %d)', (seed) => {
    // Few distinct keys in a small table: long runs, wrap-around, and a delete inside nearly every run.
    const next = random(seed * 7919);
    const t = new NumberTable();
    const model = new Map<number, number>();
    const keys = Array.from({ length: 62 }, (_, i) => (i % 2 ? 0x0a000000 + i : 0xc0a80000 + i * 256) * 64 + 32 - (i % 9));
    for (let i = 0; i < 20000; i++) {
      const k = keys[Math.floor(next() * keys.length)]!;
      if (next() < 0.5) {
        expect(t.delete(k)).toBe(model.delete(k));
      } else {
        t.set(k, i);
        model.set(k, i);
      }
      if (i % 97 === 0) expectSame(t, model, keys);
    }
    expectSame(t, model, keys);
  });

  it('grows to 100,000 /32 keys, loses none, and deletes them all', () => {
    const t = new NumberTable();
    const key = (i: number) => (0x0b000000 + i) * 64 + 32;
    for (let i = 0; i < 100000; i++) t.set(key(i), i);
    expect(t.size).toBe(100000);
    for (let i = 0; i < 100000; i++) if (t.get(key(i)) !== i) throw new Error(`key ${i} lost`);
    // Every other one gone, then the rest: runs close up as they empty.
    for (let i = 0; i < 100000; i += 2) t.delete(key(i));
    for (let i = 1; i < 100000; i += 2) if (t.get(key(i)) !== i) throw new Error(`key ${i} lost after deletes`);
    for (let i = 1; i < 100000; i += 2) t.delete(key(i));
    expect(t.size).toBe(0);
    expect(t.get(key(1))).toBeUndefined();
  });
});
