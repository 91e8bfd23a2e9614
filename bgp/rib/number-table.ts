/**
 * A hash table from whole numbers (0 to 2^53) to slots: small, distinct, non-negative integers
 * (the prefix index's). Open addressing with linear probing, at most half full, deletions by
 * moving the rest of a run back (no tombstones). The buckets hold only slot + 1 (0: empty); each
 * slot's key sits in an array by slot. Four bytes a bucket instead of twelve: this table is
 * rebuilt as it grows, and memory touched for the first time costs a page fault each 4 KiB
 * (about 10 µs on a virtual machine; docs/benchmarks.md, 2026-12-05).
 *
 * For the prefix index's IPv4 keys: a Map keyed by prefix text hashed every new string in V8's
 * runtime and kept a pointer per entry for the collector to trace; here a key is a few
 * multiplications and the arrays hold no pointers. The hash is seeded per table, so a peer
 * cannot choose prefixes that all land in one run.
 */
const FIRST_CAPACITY = 64;

export class NumberTable {
  /** slot + 1 per bucket; 0 is empty. */
  private buckets = new Int32Array(FIRST_CAPACITY);
  /** The key of each slot in the table (stale for slots not in it). */
  private keys = new Float64Array(FIRST_CAPACITY);
  private used = 0;
  private readonly seed = (Math.random() * 4294967296) | 0;

  get size(): number {
    return this.used;
  }

  /** The key of a slot in the table. */
  keyOf(slot: number): number {
    return this.keys[slot]!;
  }

  get(key: number): number | undefined {
    const mask = this.buckets.length - 1;
    for (let i = this.hash(key) & mask; ; i = (i + 1) & mask) {
      const b = this.buckets[i]!;
      if (b === 0) return undefined;
      if (this.keys[b - 1] === key) return b - 1;
    }
  }

  /** Adds a key that is not in the table, with a slot no other key has. */
  add(key: number, slot: number): void {
    if ((this.used + 1) * 2 > this.buckets.length) this.grow();
    if (slot >= this.keys.length) {
      const keys = new Float64Array(Math.max(this.keys.length * 2, slot + 1));
      keys.set(this.keys);
      this.keys = keys;
    }
    this.keys[slot] = key;
    const mask = this.buckets.length - 1;
    let i = this.hash(key) & mask;
    while (this.buckets[i] !== 0) i = (i + 1) & mask;
    this.buckets[i] = slot + 1;
    this.used++;
  }

  delete(key: number): boolean {
    const mask = this.buckets.length - 1;
    let i = this.hash(key) & mask;
    for (; ; i = (i + 1) & mask) {
      const b = this.buckets[i]!;
      if (b === 0) return false;
      if (this.keys[b - 1] === key) break;
    }
    // Close the gap: an entry later in the run moves into it unless its home lies cyclically
    // within (gap, entry], where it would no longer be found from its home.
    let gap = i;
    for (let j = (i + 1) & mask; this.buckets[j] !== 0; j = (j + 1) & mask) {
      const home = this.hash(this.keys[this.buckets[j]! - 1]!) & mask;
      const stays = gap <= j ? gap < home && home <= j : gap < home || home <= j;
      if (stays) continue;
      this.buckets[gap] = this.buckets[j]!;
      gap = j;
    }
    this.buckets[gap] = 0;
    this.used--;
    return true;
  }

  /** The farthest any key sits from its home bucket (probes past the first): how well keys spread. */
  farthest(): number {
    const mask = this.buckets.length - 1;
    let most = 0;
    for (let j = 0; j < this.buckets.length; j++) {
      const b = this.buckets[j]!;
      if (b !== 0) most = Math.max(most, (j - this.hash(this.keys[b - 1]!)) & mask);
    }
    return most;
  }

  private grow(): void {
    const old = this.buckets;
    const buckets = new Int32Array(old.length * 2);
    const mask = buckets.length - 1;
    for (let j = 0; j < old.length; j++) {
      const b = old[j]!;
      if (b === 0) continue;
      let i = this.hash(this.keys[b - 1]!) & mask;
      while (buckets[i] !== 0) i = (i + 1) & mask;
      buckets[i] = b;
    }
    this.buckets = buckets;
  }

  /**
   * Both 32-bit halves of the key mixed with the seed (multiply-xorshift, after murmur3's
   * finalizer), so keys that differ in a few bits anywhere spread out.
   */
  private hash(key: number): number {
    const low = key >>> 0;
    const high = (key / 4294967296) >>> 0;
    let h = Math.imul(low ^ this.seed, 0xcc9e2d51);
    h ^= h >>> 16;
    h = Math.imul(h ^ high, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }
}
