/**
 * Prefixes numbered. Every prefix the RIB or a peer's Adj-RIB-Out holds has a slot, a small
 * integer that indexes their arrays: the RIB looks a prefix's text up once, and each peer's
 * Adj-RIB-Out is an array read and write instead of a hash table of its own (inserting into a
 * growing Map cost 0.4-0.8 µs per route and peer; docs/benchmarks.md). A slot lives while
 * someone holds it and is then given to the next new prefix.
 */
export class PrefixIndex {
  private readonly slots = new Map<string, number>();
  private readonly names: (string | undefined)[] = [];
  private readonly holders: number[] = [];
  private readonly free: number[] = [];

  /** The slot of a prefix, if anyone holds it. */
  find(prefix: string): number | undefined {
    return this.slots.get(prefix);
  }

  /** The slot of a prefix, numbered now if it has none; the caller retains it at once. */
  slot(prefix: string): number {
    let s = this.slots.get(prefix);
    if (s === undefined) {
      s = this.free.pop() ?? this.names.length;
      this.slots.set(prefix, s);
      this.names[s] = prefix;
      this.holders[s] = 0;
    }
    return s;
  }

  /** The prefix of a held slot. */
  prefix(slot: number): string {
    return this.names[slot]!;
  }

  retain(slot: number): void {
    this.holders[slot]!++;
  }

  /** One holder fewer; with none left the slot is free for another prefix. */
  release(slot: number): void {
    if (--this.holders[slot]! > 0) return;
    this.slots.delete(this.names[slot]!);
    this.names[slot] = undefined;
    this.free.push(slot);
  }

  /** Prefixes numbered now. */
  get size(): number {
    return this.slots.size;
  }
}
