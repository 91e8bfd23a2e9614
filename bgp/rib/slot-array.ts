/**
 * An array indexed by prefix slot, kept in chunks of 1,024 entries. A plain array grown one
 * route at a time is copied into a new, larger one again and again (V8 grows it by half), and
 * past 128 KB each copy is memory the process touches for the first time: page faults, which
 * cost about 10 µs each on a virtual machine (docs/benchmarks.md, 2026-12-05). Chunks are made
 * once and never copied.
 */
const BITS = 10;
const CHUNK = 1 << BITS;
const MASK = CHUNK - 1;

export class SlotArray<T> {
  private readonly chunks: (T | undefined)[][] = [];

  get(slot: number): T | undefined {
    const chunk = this.chunks[slot >>> BITS];
    return chunk === undefined ? undefined : chunk[slot & MASK];
  }

  set(slot: number, value: T | undefined): void {
    const i = slot >>> BITS;
    let chunk = this.chunks[i];
    if (chunk === undefined) {
      // Only a value needs room: nothing set means undefined already.
      if (value === undefined) return;
      chunk = this.chunks[i] = new Array<T | undefined>(CHUNK).fill(undefined);
    }
    chunk[slot & MASK] = value;
  }

  /** Every slot that holds something, lowest first. */
  *entries(): Iterable<[slot: number, value: T]> {
    for (let i = 0; i < this.chunks.length; i++) {
      const chunk = this.chunks[i];
      if (chunk === undefined) continue;
      for (let j = 0; j < CHUNK; j++) {
        const v = chunk[j];
        if (v !== undefined) yield [i * CHUNK + j, v];
      }
    }
  }
}
