/**
 * Attribute sets interned as BIRD's rta cache does: every path with equal attributes holds one
 * object (routes of one UPDATE already share one; this shares them across UPDATEs and peers),
 * counted so that a set leaves the table with its last path. AS paths are interned too (weakly:
 * sets that differ only in a MED, say, share one).
 *
 * Sets are found by a number hashed from their values, not by a text key: where every route has
 * attributes of its own (a MED per route), building and keeping a key string per set was the
 * largest part of the RIB's time and a tenth of the speaker's memory (docs/benchmarks.md). The
 * hash is seeded at random per table and a bucket holds at most MAX_BUCKET sets, so a peer that
 * crafts colliding sets loses sharing for them instead of costing us quadratic time.
 */
import { randomInt } from 'node:crypto';
import type { AsPathSegment } from '../codec/attributes';
import type { PathAttributes } from './path';
import { asPathKey } from './path';
import { Interner } from './intern';

/** An interned attribute set and how many paths hold it (counted by the caller). */
export interface SharedSet {
  readonly attrs: PathAttributes;
  readonly hash: number;
  refs: number;
}

/** Sets kept under one hash; past it equal sets are not shared (only crafted collisions get there). */
const MAX_BUCKET = 8;

export class AttributeSets {
  private readonly table = new Map<number, SharedSet | SharedSet[]>();
  private readonly asPaths = new Interner<AsPathSegment[]>();
  private count = 0;
  /** The set released last: withdrawing a packed table releases one set 100,000 times in a row. */
  private lastReleased: SharedSet | undefined;
  /** The AS path interned last (held: one path at most outlives its routes). */
  private lastAsPath: AsPathSegment[] | undefined;

  /** `hash`: tests give their own (colliding ones); the default is seeded at random. */
  constructor(private readonly hash: (a: PathAttributes) => number = seededHash(randomInt(0x7fffffff))) {}

  /** Distinct sets in the table. */
  get size(): number {
    return this.count;
  }

  /** The shared set equal to `a`, made of `a` if there is none (`a` must not change afterwards). */
  find(a: PathAttributes): SharedSet {
    const hash = this.hash(a);
    const have = this.table.get(hash);
    if (have && !Array.isArray(have) && (have.attrs === a || sameAttributes(have.attrs, a))) return have;
    if (Array.isArray(have)) for (const s of have) if (s.attrs === a || sameAttributes(s.attrs, a)) return s;
    a.asPath = this.sharedAsPath(a.asPath);
    const set: SharedSet = { attrs: a, hash, refs: 0 };
    if (!have) this.table.set(hash, set);
    else if (!Array.isArray(have)) this.table.set(hash, [have, set]);
    else if (have.length < MAX_BUCKET) have.push(set);
    else return set;
    this.count++;
    return set;
  }

  /** One path fewer holds `a` (an interned set's attributes); the set goes with its last. */
  release(a: PathAttributes): void {
    let set = this.lastReleased;
    if (set?.attrs !== a) set = this.held(a);
    if (!set) return;
    this.lastReleased = set;
    if (--set.refs > 0) return;
    this.lastReleased = undefined;
    const have = this.table.get(set.hash);
    if (have === set) this.table.delete(set.hash);
    else if (Array.isArray(have)) {
      const rest = have.filter((s) => s !== set);
      this.table.set(set.hash, rest.length === 1 ? rest[0]! : rest);
    }
    this.count--;
  }

  /**
   * The interned AS path equal to `p`. Sets that differ only in a MED, one per route, come in a
   * row with one AS path: compared with the last one first, without building its key.
   */
  private sharedAsPath(p: AsPathSegment[]): AsPathSegment[] {
    if (this.lastAsPath && sameList(p, this.lastAsPath, sameSegment)) return this.lastAsPath;
    return (this.lastAsPath = this.asPaths.intern(asPathKey(p), p));
  }

  /** The table's set whose attributes are this very object, if any. */
  private held(a: PathAttributes): SharedSet | undefined {
    const have = this.table.get(this.hash(a));
    if (!Array.isArray(have)) return have?.attrs === a ? have : undefined;
    return have.find((s) => s.attrs === a);
  }
}

// FNV-1a over 32-bit values, then a final mix so that every bit of the key depends on all of them.
const mix = (h: number, v: number): number => Math.imul(h ^ v, 0x01000193);
const ABSENT = 0x2c1b3c6d;

function mixText(h: number, s: string | undefined): number {
  if (s === undefined) return mix(h, ABSENT);
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return mix(h, s.length);
}

function mixBytes(h: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) h = mix(h, b[i]!);
  return mix(h, b.length);
}

const mixOptional = (h: number, v: number | undefined): number => (v === undefined ? mix(h, ABSENT) : mix(mix(h, 1), v | 0));

export const seededHash =
  (seed: number) =>
  (a: PathAttributes): number =>
    attributesHash(a, seed);

/** A hash of every value `sameAttributes` compares. */
export function attributesHash(a: PathAttributes, seed: number): number {
  let h = mix(seed, a.origin);
  h = mixText(h, a.nextHop);
  h = mixText(h, a.linkLocalNextHop);
  h = mixOptional(h, a.med);
  h = mixOptional(h, a.localPref);
  h = mix(h, a.atomicAggregate ? 1 : 0);
  for (const s of a.asPath) {
    h = mix(mix(h, s.type), s.asns.length);
    for (const asn of s.asns) h = mix(h, asn | 0);
  }
  h = mix(h, a.asPath.length);
  h = mixOptional(h, a.aggregator?.asn);
  h = mixText(h, a.aggregator?.address);
  h = mixOptional(h, a.communities?.length);
  for (const c of a.communities ?? []) h = mix(h, c | 0);
  h = mixOptional(h, a.extendedCommunities?.length);
  for (const c of a.extendedCommunities ?? []) h = mixBytes(h, c);
  h = mixOptional(h, a.largeCommunities?.length);
  for (const [g, l1, l2] of a.largeCommunities ?? []) h = mix(mix(mix(h, g | 0), l1 | 0), l2 | 0);
  h = mixText(h, a.originatorId);
  h = mixOptional(h, a.clusterList?.length);
  for (const c of a.clusterList ?? []) h = mixText(h, c);
  h = mixOptional(h, a.unknown?.length);
  for (const u of a.unknown ?? []) h = mixBytes(mix(mix(h, u.flags), u.code), u.value);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Lists equal element by element (both absent is equal, absent and empty are not). */
function sameList<T>(x: readonly T[] | undefined, y: readonly T[] | undefined, same: (a: T, b: T) => boolean): boolean {
  if (x === y) return true;
  if (!x || !y || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!same(x[i]!, y[i]!)) return false;
  return true;
}

const identical = <T>(a: T, b: T): boolean => a === b;
const sameBytes = (a: Buffer, b: Buffer): boolean => a.equals(b);
const sameSegment = (a: AsPathSegment, b: AsPathSegment): boolean => a.type === b.type && sameList(a.asns, b.asns, identical);

/** Whether two attribute sets are equal in every value a route carries. */
export function sameAttributes(x: PathAttributes, y: PathAttributes): boolean {
  return (
    x.origin === y.origin &&
    x.nextHop === y.nextHop &&
    x.linkLocalNextHop === y.linkLocalNextHop &&
    x.med === y.med &&
    x.localPref === y.localPref &&
    !x.atomicAggregate === !y.atomicAggregate &&
    sameList(x.asPath, y.asPath, sameSegment) &&
    x.aggregator?.asn === y.aggregator?.asn &&
    x.aggregator?.address === y.aggregator?.address &&
    sameList(x.communities, y.communities, identical) &&
    sameList(x.extendedCommunities, y.extendedCommunities, sameBytes) &&
    sameList(x.largeCommunities, y.largeCommunities, (a, b) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2]) &&
    x.originatorId === y.originatorId &&
    sameList(x.clusterList, y.clusterList, identical) &&
    sameList(x.unknown, y.unknown, (a, b) => a.flags === b.flags && a.code === b.code && a.value.equals(b.value))
  );
}
