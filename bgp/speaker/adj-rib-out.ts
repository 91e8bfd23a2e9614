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

export class AdjRibOut {
  private readonly sent = new Map<string, Advertised>();
  private readonly pending = new Map<string, Advertised | null>();
  /** Export results per source attribute object: routes of one UPDATE share them. */
  readonly exportCache = new WeakMap<PathAttributes, Advertised | null>();

  /** Desired state of a prefix toward this peer; undefined means withdrawn. */
  set(prefix: string, want: Advertised | undefined): void {
    // Already queued as wanted (e.g. by a refresh): keep it queued.
    if (this.pending.has(prefix) && this.pending.get(prefix)?.key === want?.key) return;
    const have = this.sent.get(prefix);
    const same = want ? have?.key === want.key : have === undefined;
    if (same) this.pending.delete(prefix);
    else this.pending.set(prefix, want ?? null);
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** Takes up to `limit` pending changes and records them as sent. */
  take(limit = Infinity): Map<string, Advertised | null> {
    const out = new Map<string, Advertised | null>();
    for (const [prefix, adv] of this.pending) {
      if (out.size >= limit) break;
      out.set(prefix, adv);
      this.pending.delete(prefix);
      if (adv) this.sent.set(prefix, adv);
      else this.sent.delete(prefix);
    }
    return out;
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
