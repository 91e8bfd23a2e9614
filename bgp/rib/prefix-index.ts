import { formatIpv4PrefixKey, ipv4PrefixKey, type PrefixKey } from '../../net';
import { NumberTable } from './number-table';
import { SlotArray } from './slot-array';

/**
 * Prefixes numbered. Every prefix the RIB or a peer's Adj-RIB-Out holds has a slot, a small
 * integer that indexes their arrays: the RIB looks a prefix up once, and each peer's
 * Adj-RIB-Out is an array read and write instead of a hash table of its own (inserting into a
 * growing Map cost 0.4-0.8 µs per route and peer; docs/benchmarks.md). A slot lives while
 * someone holds it and is then given to the next new prefix.
 *
 * IPv4 prefixes are looked up by number (PrefixKey: the codec decodes them so, and text is
 * turned into one by ipv4PrefixKey) in a table of their own and kept as that number, text made
 * only when asked (views, policies); others (IPv6, text that is not strict) by their text.
 */
export class PrefixIndex {
  private readonly v4 = new NumberTable();
  private readonly slots = new Map<string, number>();
  private readonly names = new SlotArray<string>();
  private readonly holders = new SlotArray<number>();
  private readonly free: number[] = [];
  /** Slots numbered so far: the next new one, when none is free. */
  private next = 0;

  /** The slot of a prefix (text, or an IPv4 prefix as its number), if anyone holds it. */
  find(prefix: PrefixKey): number | undefined {
    const key = typeof prefix === 'number' ? prefix : ipv4PrefixKey(prefix);
    return key === undefined ? this.slots.get(prefix as string) : this.v4.get(key);
  }

  /** The slot of a prefix, numbered now if it has none; the caller retains it at once. */
  slot(prefix: PrefixKey): number {
    // As find(), written out: a tuple returned per route would be an allocation per route.
    const key = typeof prefix === 'number' ? prefix : ipv4PrefixKey(prefix);
    const found = key === undefined ? this.slots.get(prefix as string) : this.v4.get(key);
    if (found !== undefined) return found;
    const s = this.free.pop() ?? this.next++;
    // IPv4 keeps only its number (in the table): no text per route held for as long as the route.
    if (key !== undefined) this.v4.add(key, s);
    else {
      this.slots.set(prefix as string, s);
      this.names.set(s, prefix as string);
    }
    this.holders.set(s, 0);
    return s;
  }

  /** The prefix of a held slot, as text (IPv4's made from its number when asked). */
  prefix(slot: number): string {
    return this.names.get(slot) ?? formatIpv4PrefixKey(this.v4.keyOf(slot));
  }

  /** The prefix of a held slot as the tables pass it toward the wire: IPv4 as its number. */
  keyOf(slot: number): PrefixKey {
    return this.names.get(slot) ?? this.v4.keyOf(slot);
  }

  retain(slot: number): void {
    this.holders.set(slot, this.holders.get(slot)! + 1);
  }

  /** One holder fewer; with none left the slot is free for another prefix. */
  release(slot: number): void {
    const left = this.holders.get(slot)! - 1;
    this.holders.set(slot, left);
    if (left > 0) return;
    const prefix = this.names.get(slot);
    if (prefix === undefined) this.v4.delete(this.v4.keyOf(slot));
    else {
      this.slots.delete(prefix);
      this.names.set(slot, undefined);
    }
    this.free.push(slot);
  }

  /** Prefixes numbered now. */
  get size(): number {
    return this.slots.size + this.v4.size;
  }
}
