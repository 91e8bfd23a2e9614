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

export class AdjRibOut {
  private readonly sent = new Map<string, Advertised>();
  private pending = new Map<string, Advertised | null>();

  /** Desired state of a prefix toward this peer; undefined means withdrawn. */
  set(prefix: string, want: Advertised | undefined): void {
    // One lookup per table: this runs once per route and peer.
    const queued = this.pending.get(prefix);
    // Already queued as wanted (e.g. by a refresh): keep it queued.
    if (queued !== undefined && (queued === want || queued?.key === want?.key)) return;
    const have = this.sent.get(prefix);
    const same = want ? have !== undefined && (have === want || have.key === want.key) : have === undefined;
    if (!same) this.pending.set(prefix, want ?? null);
    else if (queued !== undefined) this.pending.delete(prefix);
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /**
   * Takes every pending change and records it as sent; the caller sends them in this order,
   * in batches, before it takes again. (Taking a batch at a time deleted entries from the front
   * of a large Map, which left holes every later iteration walked over again.)
   */
  takeAll(): Taken {
    const taken = this.pending;
    this.pending = new Map();
    const prefixes = new Array<string>(taken.size);
    const advs = new Array<Advertised | null>(taken.size);
    let i = 0;
    for (const [prefix, adv] of taken) {
      prefixes[i] = prefix;
      advs[i++] = adv;
      if (adv) this.sent.set(prefix, adv);
      else this.sent.delete(prefix);
    }
    return { prefixes, advs };
  }

  /** Records that these prefixes were not sent after all (they could not be encoded). */
  forget(prefixes: readonly string[]): void {
    for (const p of prefixes) this.sent.delete(p);
  }

  /** Queues everything of a family again (a ROUTE-REFRESH asked for it). */
  resend(family: Family): void {
    for (const [prefix, adv] of this.sent)
      if (familyOfPrefix(prefix) === family && !this.pending.has(prefix)) this.pending.set(prefix, adv);
  }

  /** Count of advertised prefixes, optionally of one family. */
  count(family?: Family): number {
    if (!family) return this.sent.size;
    let n = 0;
    for (const prefix of this.sent.keys()) if (familyOfPrefix(prefix) === family) n++;
    return n;
  }

  entries(family?: Family): [string, Advertised][] {
    return [...this.sent].filter(([prefix]) => !family || familyOfPrefix(prefix) === family);
  }
}
