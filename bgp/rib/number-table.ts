/**
 * A hash table from whole numbers (0 to 2^53) to slots (0 to 2^31), in typed arrays: open
 * addressing with linear probing, at most half full, deletions by moving the rest of a run back
 * (no tombstones). For the prefix index's IPv4 keys: a Map keyed by prefix text hashed every new
 * string in V8's runtime and kept a pointer per entry for the collector to trace; here a key is
 * two multiplications and the arrays hold no pointers (docs/benchmarks.md, 2026-12-05).
 */
const EMPTY = -1;
const FIRST_CAPACITY = 64;

export class NumberTable {
  private keys = new Float64Array(FIRST_CAPACITY);
  private values = new Int32Array(FIRST_CAPACITY).fill(EMPTY);
  private used = 0;

  get size(): number {
    return this.used;
  }

  get(key: number): number | undefined {
    const mask = this.values.length - 1;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const v = this.values[i]!;
      if (v === EMPTY) return undefined;
      if (this.keys[i] === key) return v;
    }
  }

  set(key: number, value: number): void {
    const mask = this.values.length - 1;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      if (this.values[i] === EMPTY) break;
      if (this.keys[i] === key) {
        this.values[i] = value;
        return;
      }
    }
    if ((this.used + 1) * 2 > this.values.length) this.grow();
    this.place(key, value);
    this.used++;
  }

  delete(key: number): boolean {
    const mask = this.values.length - 1;
    let i = hash(key) & mask;
    for (; ; i = (i + 1) & mask) {
      if (this.values[i] === EMPTY) return false;
      if (this.keys[i] === key) break;
    }
    // Close the gap: an entry later in the run moves into it unless its home lies cyclically
    // within (gap, entry], where it would no longer be found from its home.
    let gap = i;
    for (let j = (i + 1) & mask; this.values[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hash(this.keys[j]!) & mask;
      const stays = gap <= j ? gap < home && home <= j : gap < home || home <= j;
      if (stays) continue;
      this.keys[gap] = this.keys[j]!;
      this.values[gap] = this.values[j]!;
      gap = j;
    }
    this.values[gap] = EMPTY;
    this.used--;
    return true;
  }

  /** Into the first empty place of the key's run (the key is not in the table). */
  private place(key: number, value: number): void {
    const mask = this.values.length - 1;
    let i = hash(key) & mask;
    while (this.values[i] !== EMPTY) i = (i + 1) & mask;
    this.keys[i] = key;
    this.values[i] = value;
  }

  // The entries move through place(), which set() has already made hot: a loop that runs a few
  // times per table would otherwise run unoptimized (13 ms of a 100k-route load).
  private grow(): void {
    const keys = this.keys;
    const values = this.values;
    this.keys = new Float64Array(values.length * 2);
    this.values = new Int32Array(values.length * 2).fill(EMPTY);
    for (let j = 0; j < values.length; j++) if (values[j] !== EMPTY) this.place(keys[j]!, values[j]!);
  }
}

/** Both 32-bit halves of the key mixed (multiply-xorshift), so nearby keys spread out. */
function hash(key: number): number {
  const low = key >>> 0;
  const high = (key / 4294967296) >>> 0;
  let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 13);
}
