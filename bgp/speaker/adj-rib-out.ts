/**
 * Adj-RIB-Out of one peer session (RFC 4271 3.2): what the peer was told, and the changes not
 * yet sent. Setting a prefix to what the peer already has cancels a pending change, so a route
 * that flaps between two flushes costs nothing on the wire.
 */
import type { Family } from '../codec/constants';
import { attributesKey, familyOfPrefix, PathAttributes } from '../rib/path';

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
  prefixes: string[];
  advs: (Advertised | null)[];
}

/**
 * A prefix with a change not yet taken: what the peer was told and what it should be told
 * (null withdraws; undefined once the change was cancelled). It stands in the table in place of
 * the advertisement while it waits, so a route costs one table entry whether or not a change
 * of it is pending, and taking the changes walks these without looking prefixes up.
 */
class Pending {
  constructor(
    readonly prefix: string,
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
  /** Per prefix: what the peer was told, or a Pending change of it. */
  private readonly table = new Map<string, Advertised | Pending>();
  /** Pending changes in the order they were queued (a cancelled one stays, with `want` undefined). */
  private queue: Pending[] = [];
  private pending = 0;
  private advertisedCount = 0;

  /** Desired state of a prefix toward this peer; undefined means withdrawn. */
  set(prefix: string, want: Advertised | undefined): void {
    // One lookup: this runs once per route and peer.
    const have = this.table.get(prefix);
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
      if (have.sent) this.table.set(prefix, have.sent);
      else this.table.delete(prefix);
      return;
    }
    if (same(have, want)) return;
    this.enqueue(new Pending(prefix, have, want ?? null));
  }

  private enqueue(p: Pending): void {
    this.table.set(p.prefix, p);
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
    const prefixes = new Array<string>(this.pending);
    const advs = new Array<Advertised | null>(this.pending);
    this.pending = 0;
    let i = 0;
    for (const p of queue) {
      const want = p.want;
      if (want === undefined) continue;
      prefixes[i] = p.prefix;
      advs[i++] = want;
      if (want) {
        this.table.set(p.prefix, want);
        if (!p.sent) this.advertisedCount++;
      } else {
        this.table.delete(p.prefix);
        if (p.sent) this.advertisedCount--;
      }
    }
    return { prefixes, advs };
  }

  /** Records that these prefixes were not sent after all (they could not be encoded). */
  forget(prefixes: readonly string[]): void {
    for (const prefix of prefixes) {
      const have = this.table.get(prefix);
      if (!have) continue;
      if (!(have instanceof Pending)) {
        this.table.delete(prefix);
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
        this.table.delete(prefix);
      }
    }
  }

  /** Queues everything of a family again (a ROUTE-REFRESH asked for it). */
  resend(family: Family): void {
    const again: Pending[] = [];
    for (const [prefix, have] of this.table)
      if (!(have instanceof Pending) && familyOfPrefix(prefix) === family) again.push(new Pending(prefix, have, have));
    for (const p of again) this.enqueue(p);
  }

  /** Count of advertised prefixes, optionally of one family. */
  count(family?: Family): number {
    if (!family) return this.advertisedCount;
    let n = 0;
    for (const [prefix, have] of this.table) if (this.told(have) && familyOfPrefix(prefix) === family) n++;
    return n;
  }

  entries(family?: Family): [string, Advertised][] {
    const out: [string, Advertised][] = [];
    for (const [prefix, have] of this.table) {
      const told = this.told(have);
      if (told && (!family || familyOfPrefix(prefix) === family)) out.push([prefix, told]);
    }
    return out;
  }

  /** What the peer was told of a table entry. */
  private told(have: Advertised | Pending): Advertised | undefined {
    return have instanceof Pending ? have.sent : have;
  }
}
