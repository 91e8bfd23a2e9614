/**
 * Routes kept although their session says nothing about them yet: a peer restarting gracefully
 * (RFC 4724 4.2) or re-sending for an enhanced route refresh (RFC 7313 4.2). Prefixes are marked
 * stale per peer and family, unmarked as fresh announcements arrive, and whatever is still stale
 * at End-of-RIB (or EoRR, or when a timer runs out) is swept away.
 */
import type { Family } from '../codec/constants';
import { familyOfPrefix } from '../rib/path';

export class StaleRoutes {
  private readonly marks = new Map<string, Map<Family, Set<string>>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  mark(peer: string, family: Family, prefixes: Iterable<string>): void {
    let byFamily = this.marks.get(peer);
    if (!byFamily) this.marks.set(peer, (byFamily = new Map()));
    byFamily.set(family, new Set(prefixes));
  }

  /** A prefix was announced or withdrawn again: it is no longer stale. */
  refresh(peer: string, prefix: string): void {
    this.marks.get(peer)?.get(familyOfPrefix(prefix))?.delete(prefix);
  }

  has(peer: string): boolean {
    return (this.marks.get(peer)?.size ?? 0) > 0;
  }

  families(peer: string): Family[] {
    return [...(this.marks.get(peer)?.keys() ?? [])];
  }

  count(peer: string): number {
    let n = 0;
    for (const set of this.marks.get(peer)?.values() ?? []) n += set.size;
    return n;
  }

  /** Takes the still-stale prefixes of one family (or all families) for withdrawal. */
  sweep(peer: string, family?: Family): string[] {
    const byFamily = this.marks.get(peer);
    if (!byFamily) return [];
    const out: string[] = [];
    for (const [f, set] of byFamily) {
      if (family && f !== family) continue;
      out.push(...set);
      byFamily.delete(f);
    }
    if (byFamily.size === 0) {
      this.marks.delete(peer);
      this.stopTimer(peer);
    }
    return out;
  }

  /** Runs `onExpire` after `seconds` unless stopped first (restart or stale-path timer). */
  startTimer(peer: string, seconds: number, onExpire: () => void): void {
    this.stopTimer(peer);
    const t = setTimeout(() => {
      this.timers.delete(peer);
      onExpire();
    }, seconds * 1000);
    t.unref();
    this.timers.set(peer, t);
  }

  stopTimer(peer: string): void {
    clearTimeout(this.timers.get(peer));
    this.timers.delete(peer);
  }

  forget(peer: string): void {
    this.stopTimer(peer);
    this.marks.delete(peer);
  }
}
