/**
 * The outbound pipeline of one Established session: best paths through export policy into the
 * session's Adj-RIB-Out, then out as packed UPDATEs in batches that wait for the socket to
 * drain, End-of-RIB after the first full advertisement (RFC 4724) and the route-refresh markers
 * (RFC 7313). A route whose attributes leave no room in a 4096-octet UPDATE is withheld from
 * this peer alone, logged once and counted; nothing here may throw into the event loop.
 */
import { Family, RouteRefreshSubtype } from '../codec/constants';
import { ipFamily, prefixText, type PrefixKey } from '../../net';
import type { Peer } from '../session/peer';
import type { BestChange } from '../rib/rib';
import type { Path, PathAttributes } from '../rib/path';
import { attributesKey, familyOfPrefix } from '../rib/path';
import { prepend } from '../rib/as-path';
import { exportPath, ExportTarget, sameEbgpExport } from '../policy/export';
import { AdjRibOut, Advertised, advertised, Taken } from './adj-rib-out';
import { packAnnouncements, buildWithdrawals, endOfRib } from './update-builder';
import type { Logger } from '../log';
import type { PrefixIndex } from '../rib/prefix-index';

/**
 * What an export policy may change: communities to add, AS path prepending, and the next hop
 * (used when it is of the prefix's family; e.g. the node IP instead of the session's address).
 */
export type ExportDecision = 'deny' | { communities?: number[]; prepend?: { asn: number; times: number }; nextHop?: string };

/** Prefix changes sent per batch before yielding to the event loop. */
const FLUSH_BATCH = 20000;

/**
 * Pending changes that are sent at once, inside the burst that queued them. A full table from
 * a peer arrives in one read of the socket and is taken in by one callback (97,000 of 100,000
 * routes in bench/rib-load); sent only after it, the next peer got them all at the end and
 * started its own work then. Sent as they come, its work overlaps ours (it has a core of its own).
 */
const EAGER_FLUSH = 4000;

/** Adds communities, AS path prepending and a next hop (export policy) to an advertisement. */
function withPolicy(adv: Advertised, d: Exclude<ExportDecision, 'deny'>, prefix: string): Advertised {
  const attrs: PathAttributes = { ...adv.attrs };
  if (d.nextHop && ipFamily(d.nextHop) === ipFamily(prefix)) attrs.nextHop = d.nextHop;
  if (d.communities?.length) attrs.communities = [...new Set([...(attrs.communities ?? []), ...d.communities])];
  if (d.prepend) attrs.asPath = prepend(attrs.asPath, d.prepend.asn, d.prepend.times);
  return { attrs, key: attributesKey(attrs) };
}

export interface OutboundContext {
  asn: number;
  /** Our cluster ID when we reflect routes (RFC 4456). */
  clusterId?: string;
  exportPolicy?: (prefix: string, path: Path, peer: Peer) => ExportDecision;
  log: Logger;
  /** The shared copy of an advertisement (equal attributes, one object for every route and peer). */
  intern?: (a: Advertised) => Advertised;
  /** False once this session has ended: a flush scheduled before then does nothing. */
  current: () => boolean;
  /** The RIB's prefix slots, which Adj-RIB-Out is indexed by. */
  prefixes: PrefixIndex;
}

export class Outbound {
  readonly out: AdjRibOut;
  private flushing = false;
  /** The socket took more than it could send: nothing more until it drains. */
  private backlogged = false;
  /** Families whose initial advertisement is done (End-of-RIB sent). */
  private readonly synced = new Set<Family>();
  /** Families being re-sent for a ROUTE-REFRESH: EoRR follows the flush. */
  private readonly refreshing = new Set<Family>();
  /** Prefixes whose best path cannot be encoded for this peer (logged once each, withheld). */
  private readonly notSent = new Set<string>();
  /** Changes taken from Adj-RIB-Out and not yet sent, and how far sending has got. */
  private queue: Taken | undefined;
  private queued = 0;
  /** The last exported source attribute set and its result (null: export refused it). */
  private exportedFrom: PathAttributes | undefined;
  private exportedPath: Path | undefined;
  private exported: Advertised | null = null;

  constructor(
    readonly peer: Peer,
    /** Export target, with our next hops toward this peer worked out once per session. */
    private readonly target: ExportTarget,
    private readonly ctx: OutboundContext,
  ) {
    this.out = new AdjRibOut(ctx.prefixes);
  }

  /** Puts the best path of a prefix (by slot; or its withdrawal) through export policy into Adj-RIB-Out. */
  export(slot: number, best: BestChange['best']): void {
    if (!best) {
      this.out.set(slot, undefined);
      return;
    }
    // Text only for a policy to read: an IPv4 prefix is kept as a number (PrefixIndex).
    const prefix = this.ctx.exportPolicy ? this.ctx.prefixes.prefix(slot) : '';
    const decision = this.ctx.exportPolicy?.(prefix, best, this.peer);
    if (decision === 'deny') {
      this.out.set(slot, undefined);
      return;
    }
    let adv: Advertised | null;
    if (best.attrs === this.exportedFrom || this.exportsAsBefore(best)) adv = this.exported;
    else {
      const attrs = exportPath(best, this.target, { asn: this.ctx.asn, ...(this.ctx.clusterId ? { clusterId: this.ctx.clusterId } : {}) });
      adv = attrs ? advertised(attrs) : null;
      if (adv && this.ctx.intern) adv = this.ctx.intern(adv);
      // Paths of one UPDATE and family share an attribute object (same source, same family) and
      // come in a row, so the export result of the last one serves the rest; ours are per prefix
      // and not cached. (A WeakMap of every set cost more in collection than it saved when each
      // route has attributes of its own.)
      if (best.source) {
        this.exportedFrom = best.attrs;
        this.exportedPath = best;
        this.exported = adv;
      }
    }
    if (adv && decision && (decision.communities?.length || decision.prepend || decision.nextHop)) {
      adv = withPolicy(adv, decision, prefix);
      if (this.ctx.intern) adv = this.ctx.intern(adv);
    }
    this.out.set(slot, adv ?? undefined);
  }

  /**
   * Toward eBGP, paths of one source whose attributes differ only in what that export drops
   * (routes each with a MED of its own, say) export as the last one did.
   */
  private exportsAsBefore(best: Path): boolean {
    const last = this.exportedPath;
    return (
      !this.target.ibgp &&
      last !== undefined &&
      best.source !== undefined &&
      best.source === last.source &&
      best.family === last.family &&
      sameEbgpExport(best.attrs, last.attrs)
    );
  }

  /** RFC 7313: BoRR, the family again, EoRR when the flush is done. */
  refresh(family: Family): void {
    this.peer.sendRefreshMarker(family, RouteRefreshSubtype.BeginOfRouteRefresh);
    this.refreshing.add(family);
    this.out.resend(family);
    this.schedule();
  }

  schedule(): void {
    if (this.out.pendingCount >= EAGER_FLUSH && !this.backlogged && this.ctx.current()) {
      const writable = this.trySend();
      if (writable === undefined) return;
      // Listened for now: the socket may drain before the flush below runs (a burst queued
      // from a timer, say), and a 'drain' nobody heard would stall this peer for good.
      if (!writable) this.awaitDrain();
    }
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => this.flush());
  }

  /** Sends pending changes in batches, waiting for the socket to drain between them. */
  private flush(): void {
    if (!this.ctx.current()) return;
    // Filled by a batch sent inside a burst: its drain listener goes on from there.
    if (this.backlogged) return;
    const writable = this.trySend();
    if (writable === undefined) return;
    if (!writable) return this.awaitDrain();
    this.next();
  }

  /** One batch: whether the socket can take more, or undefined when it failed and the session was reset. */
  private trySend(): boolean | undefined {
    try {
      return this.sendBatch();
    } catch (err) {
      // Never let one peer's UPDATE kill the process: end that session, the others go on.
      this.flushing = false;
      this.ctx.log.error({ event: 'bug', peer: this.peer.address, err }, 'BUG: exception while sending UPDATEs; resetting the session');
      this.peer.reset();
      return undefined;
    }
  }

  private awaitDrain(): void {
    this.backlogged = true;
    this.peer.onDrain(() => {
      this.backlogged = false;
      this.next();
    });
  }

  /** Another batch on the next turn of the event loop, or the end of the flush. */
  private next(): void {
    if (this.queue || this.out.hasPending) {
      setImmediate(() => this.flush());
      return;
    }
    this.flushing = false;
    this.finishSync();
  }

  /** One batch of pending changes, packed per family and attribute set; false when the socket is full. */
  private sendBatch(): boolean {
    if (!this.queue) {
      this.queue = this.out.takeAll();
      this.queued = 0;
    }
    const { prefixes, advs } = this.queue;
    const from = this.queued;
    const to = Math.min(prefixes.length, from + FLUSH_BATCH);
    this.queued = to;
    if (to === prefixes.length) this.queue = undefined;
    const codec = this.peer.codec;
    const byFamily = new Map<Family, { withdraw: PrefixKey[]; announce: Map<string, { attrs: PathAttributes; prefixes: PrefixKey[] }> }>();
    // Runs of prefixes share one advertisement object (one source UPDATE): the group of the
    // last one is reused while family and object stay the same.
    let lastAdv: Advertised | undefined;
    let lastFamily: Family | undefined;
    let lastGroup: PrefixKey[] | undefined;
    for (let i = from; i < to; i++) {
      const prefix = prefixes[i]!;
      const adv = advs[i];
      const family = familyOfPrefix(prefix);
      if (adv && adv === lastAdv && family === lastFamily) {
        lastGroup!.push(prefix);
        continue;
      }
      let f = byFamily.get(family);
      if (!f) byFamily.set(family, (f = { withdraw: [], announce: new Map() }));
      if (!adv) f.withdraw.push(prefix);
      else {
        let g = f.announce.get(adv.key);
        if (!g) f.announce.set(adv.key, (g = { attrs: adv.attrs, prefixes: [] }));
        g.prefixes.push(prefix);
        lastAdv = adv;
        lastFamily = family;
        lastGroup = g.prefixes;
      }
    }
    let writable = true;
    const withheld = new Set<string>();
    for (const [family, f] of byFamily) {
      const tooLong: PrefixKey[] = [];
      for (const g of f.announce.values()) {
        const packed = packAnnouncements(family, g.attrs, g.prefixes, codec);
        for (const buf of packed.messages) writable = this.peer.send(buf) && writable;
        tooLong.push(...packed.tooLong);
      }
      // Withheld: withdrawn in case the peer holds an older path for it (a withdrawal of a
      // prefix it never had is ignored, RFC 4271 9.1.3), and no longer counted as advertised.
      for (const p of tooLong) withheld.add(prefixText(p));
      for (const buf of buildWithdrawals(family, [...f.withdraw, ...tooLong], codec)) writable = this.peer.send(buf) && writable;
    }
    if (withheld.size || this.notSent.size) this.recordWithheld(prefixes.slice(from, to).map(prefixText), withheld);
    return writable;
  }

  /** Prefixes whose attributes cannot be encoded for this peer: logged once each and counted. */
  private recordWithheld(taken: Iterable<string>, withheld: ReadonlySet<string>): void {
    this.out.forget([...withheld]);
    for (const prefix of taken) {
      if (!withheld.has(prefix)) {
        this.notSent.delete(prefix);
        continue;
      }
      if (this.notSent.has(prefix)) continue;
      this.notSent.add(prefix);
      this.peer.counters.routesNotSent++;
      this.ctx.log.warn(
        { event: 'notSent', peer: this.peer.address, prefix },
        'route not sent to this peer: its path attributes leave no room for it in a 4096-octet UPDATE',
      );
    }
  }

  /** After the first full advertisement: End-of-RIB per family (RFC 4724 recommends it always). */
  private finishSync(): void {
    for (const family of this.peer.negotiated?.families ?? []) {
      if (this.synced.has(family)) continue;
      this.synced.add(family);
      this.peer.send(endOfRib(family, this.peer.codec));
    }
    for (const family of this.refreshing) this.peer.sendRefreshMarker(family, RouteRefreshSubtype.EndOfRouteRefresh);
    this.refreshing.clear();
  }
}
