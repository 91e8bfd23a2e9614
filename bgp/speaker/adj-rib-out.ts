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

/**
 * A prefix with a change not yet taken: what the peer was told and what it should be told
 * (null withdraws; undefined once the change was cancelled). It stands in the table in place of
 * the advertisement while it waits, so taking the changes walks these without looking up.
 */
class Pending {
  constructor(
    readonly slot: number,
    public sent: Advertised | undefined,
    public want: Advertised | null | undefined,
  ) {}
}

/** Whether advertising `b` (undefined: withdrawn) changes nothing after `a` (null or undefined: withdrawn). */
function same(a: Advertised | null | undefined, b: Advertised | undefined): boolean {
  if (!a) return b === undefined;
  return b !== undefined && (a === b || a.key === b.key);
}

export class AdjRibOut {
  /** Per prefix slot: what the peer was told, or a Pending change of it. */
  private readonly table: (Advertised | Pending | undefined)[] = [];
  /** Pending changes in the order they were queued (a cancelled one stays, with `want` undefined). */
  private queue: Pending[] = [];
  private pending = 0;
  private advertisedCount = 0;

  constructor(private readonly prefixes: PrefixIndex) {}

  /** Desired state of a prefix (by slot) toward this peer; undefined means withdrawn. */
  set(slot: number, want: Advertised | undefined): void {
    // One array read: this runs once per route and peer.
    const have = this.table[slot];
    if (have instanceof Pending) {
      // Already queued as wanted (e.g. by a refresh): keep it queued.
      if (same(have.want, want)) return;
      if (!same(have.sent, want)) {
        have.want = want ?? null;
        return;
      }
      // Back to what the peer has: the change is cancelled.
      have.want = undefined;
      this.pending--;
      this.put(slot, have.sent);
      return;
    }
    if (same(have, want)) return;
    // Nothing here before: the session holds the slot from now until it has nothing for it.
    if (!have) this.prefixes.retain(slot);
    this.enqueue(new Pending(slot, have, want ?? null));
  }

  /** Sets what a slot holds; holding nothing any more gives the slot back. */
  private put(slot: number, v: Advertised | undefined): void {
    this.table[slot] = v;
    if (!v) this.prefixes.release(slot);
  }

  private enqueue(p: Pending): void {
    this.table[p.slot] = p;
    this.queue.push(p);
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
    const queue = this.queue;
    this.queue = [];
    const prefixes = new Array<PrefixKey>(this.pending);
    const advs = new Array<Advertised | null>(this.pending);
    this.pending = 0;
    let i = 0;
    for (const p of queue) {
      const want = p.want;
      if (want === undefined) continue;
      // Read before put(): a withdrawal may give the slot back.
      prefixes[i] = this.prefixes.keyOf(p.slot);
      advs[i++] = want;
      if (want) {
        this.table[p.slot] = want;
        if (!p.sent) this.advertisedCount++;
      } else {
        this.put(p.slot, undefined);
        if (p.sent) this.advertisedCount--;
      }
    }
    return { prefixes, advs };
  }

  /** Records that these prefixes were not sent after all (they could not be encoded). */
  forget(prefixes: readonly string[]): void {
    for (const prefix of prefixes) {
      const slot = this.prefixes.find(prefix);
      const have = slot === undefined ? undefined : this.table[slot];
      if (!have) continue;
      if (!(have instanceof Pending)) {
        this.put(slot!, undefined);
        this.advertisedCount--;
        continue;
      }
      // Changed again since it was taken: the change stays queued against nothing sent.
      if (!have.sent) continue;
      have.sent = undefined;
      this.advertisedCount--;
      if (have.want === null) {
        // Withdrawing what the peer never got is nothing to send.
        have.want = undefined;
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
    this.queue = [];
    this.pending = 0;
    this.advertisedCount = 0;
  }

  /** Queues everything of a family again (a ROUTE-REFRESH asked for it). */
  resend(family: Family): void {
    const again: Pending[] = [];
    for (const [slot, have] of this.held())
      if (!(have instanceof Pending) && familyOfPrefix(this.prefixes.prefix(slot)) === family) again.push(new Pending(slot, have, have));
    for (const p of again) this.enqueue(p);
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
  private *held(): Iterable<[number, Advertised | Pending]> {
    for (const key in this.table) {
      const slot = Number(key);
      const have = this.table[slot];
      if (have) yield [slot, have];
    }
  }

  /** What the peer was told of a table entry. */
  private told(have: Advertised | Pending): Advertised | undefined {
    return have instanceof Pending ? have.sent : have;
  }
}
