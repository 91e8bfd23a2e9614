/**
 * Adj-RIB-In per peer and the Loc-RIB (RFC 4271 3.2). Paths come in through `apply`; after the
 * decision process the RIB emits the prefixes whose best path changed, in batches ('changes'),
 * for the speaker to advertise and the node agent to install. No sockets, no timers.
 */
import { EventEmitter } from 'node:events';
import type { Family } from '../codec/constants';
import { BestPathReason, selectBest } from './decision';
import type { AsPathSegment } from '../codec/attributes';
import type { Path, PathAttributes, PeerRef } from './path';
import { asPathKey, attributesKey, familyOfPrefix } from './path';
import { Interner } from './intern';

/** An interned attribute set and how many paths hold it. */
interface SharedSet {
  attrs: PathAttributes;
  key: string;
  refs: number;
}

/** Key of the local "peer" that originated routes live under. */
export const LOCAL_SOURCE = '';

export interface Destination {
  prefix: string;
  family: Family;
  paths: Path[];
  best: Path | undefined;
  reason: BestPathReason | undefined;
}

export interface BestChange {
  prefix: string;
  family: Family;
  /** The new best path, or undefined when the prefix became unreachable. */
  best: Path | undefined;
  previous: Path | undefined;
}

/** One route to add (attrs) or withdraw (attrs undefined) from a source. */
export interface RouteInput {
  prefix: string;
  attrs: PathAttributes | undefined;
  accepted?: boolean;
  rejectReason?: string;
}

export class Rib extends EventEmitter {
  private readonly adjIn = new Map<string, Map<string, Path>>();
  private readonly loc = new Map<string, Destination>();
  /** Adj-RIB-In sizes per source and family, kept as paths come and go (max-prefix checks them per UPDATE). */
  private readonly sizes = new Map<string, Record<Family, number>>();
  /**
   * Attribute sets, interned as BIRD's rta cache does: every path with equal attributes holds
   * one object (routes of one UPDATE already shared one; this shares them across UPDATEs and
   * peers), counted so that a set leaves with its last path. AS paths are interned too (weakly:
   * sets that differ only in a MED, say, share one).
   */
  private readonly setsByKey = new Map<string, SharedSet>();
  private readonly sets = new Map<PathAttributes, SharedSet>();
  private readonly asPaths = new Interner<AsPathSegment[]>();

  constructor(private readonly localAsn: number) {
    super();
  }

  /** Applies routes from one source (a peer, or undefined for ours); emits and returns the changes. */
  apply(source: PeerRef | undefined, routes: readonly RouteInput[]): BestChange[] {
    const key = source?.address ?? LOCAL_SOURCE;
    let table = this.adjIn.get(key);
    if (!table) {
      table = new Map();
      this.adjIn.set(key, table);
    }
    const now = Date.now();
    const changes: BestChange[] = [];
    // Routes of one UPDATE come in a row with one attribute object: looked up once for them all.
    let lastIn: PathAttributes | undefined;
    let lastSet: SharedSet | undefined;
    for (const r of routes) {
      const old = table.get(r.prefix);
      let path: Path | undefined;
      if (r.attrs) {
        if (r.attrs !== lastIn || !lastSet) {
          lastIn = r.attrs;
          lastSet = this.shared(r.attrs);
        }
        lastSet.refs++;
        const attrs = lastSet.attrs;
        path = { prefix: r.prefix, family: familyOfPrefix(r.prefix), attrs, source, since: now, accepted: r.accepted ?? true };
        if (r.rejectReason) path.rejectReason = r.rejectReason;
        table.set(r.prefix, path);
        if (!old) this.count(key, path.family, 1);
      } else if (old) {
        table.delete(r.prefix);
        this.count(key, old.family, -1);
      } else {
        continue;
      }
      if (old) this.release(old.attrs);
      const change = this.replace(r.prefix, old, path);
      if (change) changes.push(change);
    }
    if (changes.length) this.emit('changes', changes);
    return changes;
  }

  /**
   * Drops what a source sent (session down, RFC 4271 8.2.2 "deletes all routes"), or only its
   * routes of one family (graceful restart keeps the others).
   */
  removeSource(address: string, family?: Family): BestChange[] {
    const table = this.adjIn.get(address);
    if (!table) return [];
    const changes: BestChange[] = [];
    for (const [prefix, old] of table) {
      if (family && old.family !== family) continue;
      table.delete(prefix);
      this.count(address, old.family, -1);
      this.release(old.attrs);
      const change = this.replace(prefix, old, undefined);
      if (change) changes.push(change);
    }
    if (table.size === 0) {
      this.adjIn.delete(address);
      this.sizes.delete(address);
    }
    if (changes.length) this.emit('changes', changes);
    return changes;
  }

  /** Paths of one source (Adj-RIB-In), optionally of one family. */
  adjRibIn(address: string, family?: Family): Path[] {
    const table = this.adjIn.get(address);
    if (!table) return [];
    const all = [...table.values()];
    return family ? all.filter((p) => p.family === family) : all;
  }

  /** Whether a source has sent a path for this prefix (it is in its Adj-RIB-In). */
  holds(address: string, prefix: string): boolean {
    return this.adjIn.get(address)?.has(prefix) ?? false;
  }

  /** Paths a source sent us of one family, accepted or not (what max-prefix limits). */
  received(address: string, family: Family): number {
    return this.sizes.get(address)?.[family] ?? 0;
  }

  /** Distinct attribute sets held by paths. */
  get attributeSets(): number {
    return this.setsByKey.size;
  }

  /** The shared set equal to `a` (made of `a` if there is none; `a` must not change afterwards). */
  private shared(a: PathAttributes): SharedSet {
    let set = this.sets.get(a);
    if (!set) {
      const key = attributesKey(a);
      set = this.setsByKey.get(key);
      if (!set) {
        a.asPath = this.asPaths.intern(asPathKey(a.asPath), a.asPath);
        set = { attrs: a, key, refs: 0 };
        this.setsByKey.set(key, set);
        this.sets.set(a, set);
      }
    }
    return set;
  }

  private release(a: PathAttributes): void {
    const set = this.sets.get(a);
    if (!set || --set.refs > 0) return;
    this.sets.delete(a);
    this.setsByKey.delete(set.key);
  }

  private count(address: string, family: Family, delta: number): void {
    let s = this.sizes.get(address);
    if (!s) this.sizes.set(address, (s = { 'ipv4-unicast': 0, 'ipv6-unicast': 0 }));
    s[family] += delta;
  }

  /** Counts for `bgp neighbors`: received (all) and accepted (usable) paths of a source. */
  counts(address: string): { received: number; accepted: number } {
    const table = this.adjIn.get(address);
    let accepted = 0;
    for (const p of table?.values() ?? []) if (p.accepted) accepted++;
    return { received: table?.size ?? 0, accepted };
  }

  destination(prefix: string): Destination | undefined {
    return this.loc.get(prefix);
  }

  /** The Loc-RIB, optionally one family. */
  destinations(family?: Family): Destination[] {
    const all = [...this.loc.values()];
    return family ? all.filter((d) => d.family === family) : all;
  }

  /** Best paths of one family, for a peer's initial advertisement or a route refresh. */
  *bestPaths(family?: Family): Iterable<Path> {
    for (const d of this.loc.values()) if (d.best && (!family || d.family === family)) yield d.best;
  }

  private replace(prefix: string, old: Path | undefined, path: Path | undefined): BestChange | undefined {
    let dest = this.loc.get(prefix);
    if (!dest) {
      if (!path) return undefined;
      dest = { prefix, family: familyOfPrefix(prefix), paths: [], best: undefined, reason: undefined };
      this.loc.set(prefix, dest);
    }
    // New arrays of the exact size: an array grown by push keeps room for 16 paths, ~130 bytes
    // per destination that almost always has one.
    const kept = old ? dest.paths.filter((p) => p !== old) : dest.paths;
    dest.paths = !path ? kept : kept.length === 0 ? [path] : kept.concat([path]);
    const previous = dest.best;
    const { best, reason } = selectBest(dest.paths, this.localAsn);
    dest.best = best;
    dest.reason = reason;
    if (dest.paths.length === 0) this.loc.delete(prefix);
    // A replaced path is a change even when it wins again: its attributes may differ.
    if (best === previous) return undefined;
    return { prefix, family: dest.family, best, previous };
  }
}
