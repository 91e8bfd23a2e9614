/**
 * Adj-RIB-Out of one peer session (RFC 4271 3.2): what the peer was told, and the changes not
 * yet sent. Setting a prefix to what the peer already has cancels a pending change, so a route
 * that flaps between two flushes costs nothing on the wire. Prefixes are the RIB's slots
 * (PrefixIndex): the table is an array, and the session holds each slot it has anything for.
 */
import type { Family } from '../codec/constants';
import { attributesKey, familyOfPrefix, PathAttributes } from '../rib/path';
import type { PrefixIndex } from '../rib/prefix-index';
import type { PrefixKey } from '../../net';

export interface Advertised {
  attrs: PathAttributes;
  /** attributesKey(attrs): equality and packing. */
  key: string;
}

export function advertised(attrs: PathAttributes): Advertised {
  return { attrs, key: attributesKey(attrs) };
}

/** Changes taken to be sent, in the order they were queued; null withdraws. */
export interface Taken {
  /** IPv4 as numbers (PrefixKey): the UPDATE encoder takes them as they are. */
  prefixes: PrefixKey[];
  advs: (Advertised | null)[];
}

/** Whether advertising `b` (undefined: withdrawn) changes nothing after `a` (null or undefined: withdrawn). */
function same(a: Advertised | null | undefined, b: Advertised | undefined): boolean {
  if (!a) return b === undefined;
  return b !== undefined && (a === b || a.key === b.key);
}

export class AdjRibOut {
  /**
   * Per prefix slot: what the peer was told, or (a number) where its pending change stands in
   * the queue, so a change costs one array read to find.
   */
  private readonly table: (Advertised | number | undefined)[] = [];
  /**
   * The queue of pending changes, in the order they were made, as three arrays by position:
   * the slot, what the peer had been told, and what it should be told (null withdraws;
   * undefined once the change was cancelled, which leaves its position empty). Not an object
   * per change: a burst keeps thousands of them waiting, long enough for V8's young collections
   * to copy them and then promote them as garbage (docs/benchmarks.md, 2026-12-05, evening).
   */
  private slots: number[] = [];
  private sent: (Advertised | undefined)[] = [];
  private wants: (Advertised | null | undefined)[] = [];
  private pending = 0;
  private advertisedCount = 0;

  constructor(private readonly prefixes: PrefixIndex) {}

  /** Desired state of a prefix (by slot) toward this peer; undefined means withdrawn. */
  set(slot: number, want: Advertised | undefined): void {
    // One array read: this runs once per route and peer.
    const have = this.table[slot];
    if (typeof have === 'number') {
      // Already queued as wanted (e.g. by a refresh): keep it queued.
      if (same(this.wants[have], want)) return;
      const sent = this.sent[have];
      if (!same(sent, want)) {
        this.wants[have] = want ?? null;
        return;
      }
      // Back to what the peer has: the change is cancelled.
      this.wants[have] = undefined;
      this.pending--;
      this.put(slot, sent);
      return;
    }
    if (same(have, want)) return;
    // Nothing here before: the session holds the slot from now until it has nothing for it.
    if (!have) this.prefixes.retain(slot);
    this.enqueue(slot, have, want ?? null);
  }

  /** Sets what a slot holds; holding nothing any more gives the slot back. */
  private put(slot: number, v: Advertised | undefined): void {
    this.table[slot] = v;
    if (!v) this.prefixes.release(slot);
  }

  private enqueue(slot: number, sent: Advertised | undefined, want: Advertised | null): void {
    this.table[slot] = this.slots.length;
    this.slots.push(slot);
    this.sent.push(sent);
    this.wants.push(want);
    this.pending++;
  }

  get hasPending(): boolean {
    return this.pending > 0;
  }

  /** Changes queued and not yet taken. */
  get pendingCount(): number {
    return this.pending;
  }

  /**
   * Takes every pending change and records it as sent; the caller sends them in this order,
   * in batches, before it takes again.
   */
  takeAll(): Taken {
    const { slots, sent, wants } = this;
    const prefixes = new Array<PrefixKey>(this.pending);
    const advs = new Array<Advertised | null>(this.pending);
    let i = 0;
    for (let q = 0; q < slots.length; q++) {
      const want = wants[q];
      if (want === undefined) continue;
      const slot = slots[q]!;
      // Read before put(): a withdrawal may give the slot back.
      prefixes[i] = this.prefixes.keyOf(slot);
      advs[i++] = want;
      if (want) {
        this.table[slot] = want;
        if (!sent[q]) this.advertisedCount++;
      } else {
        this.put(slot, undefined);
        if (sent[q]) this.advertisedCount--;
      }
    }
    this.emptyQueue();
    return { prefixes, advs };
  }

  /** New arrays, not emptied ones: a queue that once held a full table would keep its room. */
  private emptyQueue(): void {
    this.slots = [];
    this.sent = [];
    this.wants = [];
    this.pending = 0;
  }

  /** Records that these prefixes were not sent after all (they could not be encoded). */
  forget(prefixes: readonly string[]): void {
    for (const prefix of prefixes) {
      const slot = this.prefixes.find(prefix);
      const have = slot === undefined ? undefined : this.table[slot];
      if (have === undefined) continue;
      if (typeof have !== 'number') {
        this.put(slot!, undefined);
        this.advertisedCount--;
        continue;
      }
      // Changed again since it was taken: the change stays queued against nothing sent.
      if (!this.sent[have]) continue;
      this.sent[have] = undefined;
      this.advertisedCount--;
      if (this.wants[have] === null) {
        // Withdrawing what the peer never got is nothing to send.
        this.wants[have] = undefined;
        this.pending--;
        this.put(slot!, undefined);
      }
    }
  }

  /**
   * The session is over: every slot it holds goes back (else a prefix that later leaves the RIB
   * would stay numbered, and a peer flapping with a full table would leave its whole numbering
   * held). Nothing is queued or told after this.
   */
  close(): void {
    for (const [slot] of this.held()) this.prefixes.release(slot);
    this.table.length = 0;
    this.emptyQueue();
    this.advertisedCount = 0;
  }

  /** Queues everything of a family again (a ROUTE-REFRESH asked for it). */
  resend(family: Family): void {
    const again: [number, Advertised][] = [];
    for (const [slot, have] of this.held())
      if (typeof have !== 'number' && familyOfPrefix(this.prefixes.prefix(slot)) === family) again.push([slot, have]);
    for (const [slot, have] of again) this.enqueue(slot, have, have);
  }

  /** Count of advertised prefixes, optionally of one family. */
  count(family?: Family): number {
    if (!family) return this.advertisedCount;
    let n = 0;
    for (const [slot, have] of this.held()) if (this.told(have) && familyOfPrefix(this.prefixes.prefix(slot)) === family) n++;
    return n;
  }

  entries(family?: Family): [string, Advertised][] {
    const out: [string, Advertised][] = [];
    for (const [slot, have] of this.held()) {
      const told = this.told(have);
      const prefix = this.prefixes.prefix(slot);
      if (told && (!family || familyOfPrefix(prefix) === family)) out.push([prefix, told]);
    }
    return out;
  }

  /**
   * The slots this session holds. By the array's own keys: toward most peers a node sends one
   * prefix whose slot may be high, and such an array is sparse (a walk of every index would
   * visit the whole RIB's numbering for each of thousands of peers).
   */
  private *held(): Iterable<[number, Advertised | number]> {
    for (const key in this.table) {
      const slot = Number(key);
      const have = this.table[slot];
      if (have !== undefined) yield [slot, have];
    }
  }

  /** What the peer was told of a table entry. */
  private told(have: Advertised | number): Advertised | undefined {
    return typeof have === 'number' ? this.sent[have] : have;
  }
}
