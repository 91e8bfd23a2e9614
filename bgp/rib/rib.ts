/**
 * Adj-RIB-In per peer and the Loc-RIB (RFC 4271 3.2). Paths come in through `apply`; after the
 * decision process the RIB emits the prefixes whose best path changed, in batches ('changes'),
 * for the speaker to advertise and the node agent to install. No sockets, no timers.
 */
import { EventEmitter } from 'node:events';
import type { Family } from '../codec/constants';
import { BestPathReason, selectBest } from './decision';
import type { Path, PathAttributes, PeerRef } from './path';
import { familyOfPrefix } from './path';
import type { PrefixKey } from '../../net';
import { AttributeSets, type SharedSet } from './attr-sets';
import { PrefixIndex } from './prefix-index';
import { SlotArray } from './slot-array';

/** Key of the local "peer" that originated routes live under. */
export const LOCAL_SOURCE = '';

export interface Destination {
  prefix: string;
  family: Family;
  paths: Path[];
  best: Path | undefined;
  reason: BestPathReason | undefined;
}

/** A prefix and one of its paths (paths do not carry their prefix: see Path). */
export type PrefixPath = readonly [prefix: string, path: Path];

export interface BestChange {
  /** As the route came (an IPv4 prefix from a peer as its number: prefixText gives the text). */
  prefix: PrefixKey;
  /** The prefix's slot in `Rib.prefixes` (held while the RIB or an Adj-RIB-Out has the prefix). */
  slot: number;
  family: Family;
  /** The new best path, or undefined when the prefix became unreachable. */
  best: Path | undefined;
  previous: Path | undefined;
}

/**
 * Routes from a source that share their attributes, as an UPDATE carries them: added (attrs) or
 * withdrawn (attrs undefined). The prefixes are the decoded array itself: an object per route
 * instead was, for a full table, 100,000 objects that V8 came to allocate in its old generation.
 */
export interface RouteInput {
  /** Text, or IPv4 prefixes as numbers (as the codec decodes the classic fields). */
  prefixes: readonly PrefixKey[];
  attrs: PathAttributes | undefined;
  accepted?: boolean;
  rejectReason?: string;
}

/** Paths held from one source, per family, and how many of them import accepted. */
interface SourceCounts {
  'ipv4-unicast': number;
  'ipv6-unicast': number;
  accepted: number;
}

/**
 * A prefix with more than one path (the paths of several sources). A prefix with one path, the
 * common case, holds that path alone in the table: one object per route, not three.
 */
class Shared {
  constructor(
    public paths: Path[],
    public best: Path | undefined,
    public reason: BestPathReason | undefined,
  ) {}
}

type Entry = Path | Shared;

const bestOf = (e: Entry): Path | undefined => (e instanceof Shared ? e.best : e.accepted ? e : undefined);
const familyOf = (e: Entry): Family => (e instanceof Shared ? e.paths[0]!.family : e.family);

/** The path a source holds for a prefix (each source has at most one per prefix). */
function pathOf(e: Entry | undefined, source: string): Path | undefined {
  if (!e) return undefined;
  if (!(e instanceof Shared)) return (e.source?.address ?? LOCAL_SOURCE) === source ? e : undefined;
  for (const p of e.paths) if ((p.source?.address ?? LOCAL_SOURCE) === source) return p;
  return undefined;
}

/** The destination view of a table entry (built when asked: the admin views read them). */
function destinationOf(prefix: string, e: Entry): Destination {
  if (e instanceof Shared) return { prefix, family: familyOf(e), paths: e.paths, best: e.best, reason: e.reason };
  return { prefix, family: e.family, paths: [e], best: bestOf(e), reason: e.accepted ? BestPathReason.OnlyPath : undefined };
}

export class Rib extends EventEmitter {
  /** Prefix slots: the RIB holds one per prefix it has a path for; each Adj-RIB-Out indexes by them too. */
  readonly prefixes = new PrefixIndex();
  /**
   * The Loc-RIB by prefix slot, and the Adj-RIBs-In with it: every source's path for a prefix
   * sits in that prefix's entry, so a route costs one lookup, not one per source.
   */
  private readonly loc = new SlotArray<Entry>();
  /** Adj-RIB-In sizes per source and family, kept as paths come and go (max-prefix checks them per UPDATE). */
  private readonly sizes = new Map<string, SourceCounts>();
  /** Attribute sets, interned: one object per distinct set, whoever sent it. */
  private readonly sets = new AttributeSets();
  /** Destinations per family, kept as prefixes come and go (the admin views ask often; a count walked the table). */
  private readonly perFamily: Record<Family, number> = { 'ipv4-unicast': 0, 'ipv6-unicast': 0 };

  constructor(private readonly localAsn: number) {
    super();
  }

  /** Applies routes from one source (a peer, or undefined for ours); emits and returns the changes. */
  apply(source: PeerRef | undefined, routes: readonly RouteInput[]): BestChange[] {
    const key = source?.address ?? LOCAL_SOURCE;
    const counts = this.countsOf(key);
    const now = Math.floor(Date.now() / 1000);
    const changes: BestChange[] = [];
    // Routes of one UPDATE come in a row with one attribute object: looked up once for them all.
    let lastIn: PathAttributes | undefined;
    let lastSet: SharedSet | undefined;
    // The path the last route got: the next one shares it when nothing per route differs.
    let last: Path | undefined;
    for (const r of routes) {
      for (const prefix of r.prefixes) {
        // Numbered when announced; a withdrawal of a prefix nobody holds finds nothing.
        const slot = r.attrs ? this.prefixes.slot(prefix) : this.prefixes.find(prefix);
        const entry = slot === undefined ? undefined : this.loc.get(slot);
        const old = pathOf(entry, key);
        let path: Path | undefined;
        if (r.attrs) {
          if (r.attrs !== lastIn || !lastSet) {
            lastIn = r.attrs;
            lastSet = this.sets.find(r.attrs);
          }
          lastSet.refs++;
          const family = old?.family ?? familyOfPrefix(prefix);
          const accepted = r.accepted ?? true;
          // Not the path it replaces (a prefix twice in one UPDATE): a replaced path must differ.
          if (
            last &&
            last !== old &&
            last.attrs === lastSet.attrs &&
            last.family === family &&
            last.accepted === accepted &&
            last.rejectReason === r.rejectReason
          )
            path = last;
          else {
            path = last = { family, attrs: lastSet.attrs, source, sinceSeconds: now, accepted };
            if (r.rejectReason) path.rejectReason = r.rejectReason;
          }
          if (!old) counts[path.family]++;
          if (path.accepted) counts.accepted++;
        } else if (old) {
          counts[old.family]--;
        } else {
          continue;
        }
        if (old) {
          if (old.accepted) counts.accepted--;
          this.sets.release(old.attrs);
        }
        const change = this.replace(slot!, prefix, entry, old, path);
        if (change) changes.push(change);
      }
    }
    this.dropIfEmpty(key, counts);
    if (changes.length) this.emit('changes', changes);
    return changes;
  }

  /**
   * Drops what a source sent (session down, RFC 4271 8.2.2 "deletes all routes"), or only its
   * routes of one family (graceful restart keeps the others).
   */
  removeSource(address: string, family?: Family): BestChange[] {
    const counts = this.sizes.get(address);
    if (!counts) return [];
    const changes: BestChange[] = [];
    for (const [slot, entry] of this.held(family)) {
      const old = pathOf(entry, address);
      if (!old) continue;
      counts[old.family]--;
      if (old.accepted) counts.accepted--;
      this.sets.release(old.attrs);
      const change = this.replace(slot, this.prefixes.keyOf(slot), entry, old, undefined);
      if (change) changes.push(change);
    }
    this.dropIfEmpty(address, counts);
    if (changes.length) this.emit('changes', changes);
    return changes;
  }

  /** Paths of one source (Adj-RIB-In) with their prefixes, optionally of one family. */
  adjRibIn(address: string, family?: Family): PrefixPath[] {
    const out: PrefixPath[] = [];
    if (!this.sizes.has(address)) return out;
    for (const [slot, entry] of this.held(family)) {
      const p = pathOf(entry, address);
      if (p) out.push([this.prefixes.prefix(slot), p]);
    }
    return out;
  }

  /** Every path of every source (all Adj-RIBs-In) with its prefix, in one pass. */
  *allPaths(): Iterable<PrefixPath> {
    for (const [slot, entry] of this.held()) {
      const prefix = this.prefixes.prefix(slot);
      if (entry instanceof Shared) for (const p of entry.paths) yield [prefix, p];
      else yield [prefix, entry];
    }
  }

  /** The table's entries with their slots, optionally of one family. */
  private *held(family?: Family): Iterable<[number, Entry]> {
    for (const [slot, entry] of this.loc.entries()) if (!family || familyOf(entry) === family) yield [slot, entry];
  }

  /** The entry of a prefix, if it has paths. */
  private entryOf(prefix: PrefixKey): Entry | undefined {
    const slot = this.prefixes.find(prefix);
    return slot === undefined ? undefined : this.loc.get(slot);
  }

  /** Whether a source has sent a path for this prefix (it is in its Adj-RIB-In). */
  holds(address: string, prefix: PrefixKey): boolean {
    return pathOf(this.entryOf(prefix), address) !== undefined;
  }

  /** Paths a source sent us of one family, accepted or not (what max-prefix limits). */
  received(address: string, family: Family): number {
    return this.sizes.get(address)?.[family] ?? 0;
  }

  /** Distinct attribute sets held by paths. */
  get attributeSets(): number {
    return this.sets.size;
  }

  private countsOf(address: string): SourceCounts {
    let c = this.sizes.get(address);
    if (!c) this.sizes.set(address, (c = { 'ipv4-unicast': 0, 'ipv6-unicast': 0, accepted: 0 }));
    return c;
  }

  private dropIfEmpty(address: string, c: SourceCounts): void {
    if (c['ipv4-unicast'] === 0 && c['ipv6-unicast'] === 0) this.sizes.delete(address);
  }

  /** Counts for `bgp neighbors`: received (all) and accepted (usable) paths of a source. */
  counts(address: string): { received: number; accepted: number } {
    const c = this.sizes.get(address);
    return { received: c ? c['ipv4-unicast'] + c['ipv6-unicast'] : 0, accepted: c?.accepted ?? 0 };
  }

  /** The best path to a prefix, without building its destination view. */
  best(prefix: string): Path | undefined {
    const e = this.entryOf(prefix);
    return e && bestOf(e);
  }

  /** The paths to a prefix (a view: not to be changed). */
  paths(prefix: string): readonly Path[] {
    const e = this.entryOf(prefix);
    return !e ? [] : e instanceof Shared ? e.paths : [e];
  }

  destination(prefix: string): Destination | undefined {
    const e = this.entryOf(prefix);
    return e && destinationOf(prefix, e);
  }

  /** The Loc-RIB, optionally one family. */
  destinations(family?: Family): Destination[] {
    const out: Destination[] = [];
    for (const [slot, e] of this.held(family)) out.push(destinationOf(this.prefixes.prefix(slot), e));
    return out;
  }

  /** Destinations per family (the families that have any). */
  destinationCounts(): Partial<Record<Family, number>> {
    const out: Partial<Record<Family, number>> = {};
    for (const [f, n] of Object.entries(this.perFamily) as [Family, number][]) if (n > 0) out[f] = n;
    return out;
  }

  /** Best paths with their prefixes, for a peer's initial advertisement or a route refresh. */
  *bestPaths(family?: Family): Iterable<PrefixPath> {
    for (const [slot, best] of this.bestBySlot(family)) yield [this.prefixes.prefix(slot), best];
  }

  /** Best paths by prefix slot (what a new session's Adj-RIB-Out takes in). */
  *bestBySlot(family?: Family): Iterable<readonly [slot: number, path: Path]> {
    for (const [slot, e] of this.held(family)) {
      const best = bestOf(e);
      if (best) yield [slot, best];
    }
  }

  /** Puts `path` in place of `old` (either may be missing) and runs the decision process. */
  private replace(
    slot: number,
    prefix: PrefixKey,
    found: Entry | undefined,
    old: Path | undefined,
    path: Path | undefined,
  ): BestChange | undefined {
    const previous = found && bestOf(found);
    let entry: Entry | undefined;
    if (!(found instanceof Shared)) {
      // Alone before (or new): alone after, or with the path it had beside the new one.
      const kept = found && found !== old ? found : undefined;
      entry = kept && path ? this.decide(new Shared([kept, path], undefined, undefined)) : (kept ?? path);
    } else {
      // New arrays of the exact size: an array grown by push keeps room for 16 paths.
      const kept = old ? found.paths.filter((p) => p !== old) : found.paths;
      const paths = !path ? kept : kept.concat([path]);
      if (paths.length === 1) entry = paths[0];
      else if (paths.length > 1) {
        found.paths = paths;
        entry = this.decide(found);
      }
    }
    if (entry !== found) {
      this.loc.set(slot, entry);
      if (!found) {
        this.prefixes.retain(slot);
        this.perFamily[familyOf(entry!)]++;
      } else if (!entry) {
        this.perFamily[familyOf(found)]--;
        // Freed now if no Adj-RIB-Out holds it; the change below still names it (nothing
        // holds a freed slot, so its withdrawal there is nothing, even if it is numbered again).
        this.prefixes.release(slot);
      }
    }
    const best = entry && bestOf(entry);
    // A replaced path is a change even when it wins again: its attributes may differ.
    if (best === previous) return undefined;
    return { prefix, slot, family: (best ?? previous)!.family, best, previous };
  }

  private decide(s: Shared): Shared {
    const { best, reason } = selectBest(s.paths, this.localAsn);
    s.best = best;
    s.reason = reason;
    return s;
  }
}
