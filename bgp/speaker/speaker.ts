/**
 * The speaker facade: a listening socket, the configured peers, the RIB, and the glue between
 * them. Received UPDATEs go through import policy into the RIB; best-path changes go through
 * export policy into each peer's Adj-RIB-Out and out as packed UPDATEs. Users (the standalone
 * daemon, the node agent) add neighbors, originate prefixes and listen to 'bestChanges'.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { BGP_PORT, FAMILIES, Family, Origin, RouteRefreshSubtype } from '../codec/constants';
import { CeaseSubcode } from '../codec/errors';
import { canonicalPrefix, ipFamily, normalizeAddress } from '../../net';
import type { ReceivedUpdate } from '../codec/messages';
import { Peer, NeighborSettings } from '../session/peer';
import { LocalSettings } from '../session/negotiate';
import { tcpTransports, TransportFactory } from '../session/transport';
import { State } from '../fsm/states';
import { Rib, BestChange } from '../rib/rib';
import type { Path, PathAttributes, PeerRef } from '../rib/path';
import { attributesKey, familyOfPrefix } from '../rib/path';
import { prepend } from '../rib/as-path';
import { importUpdate } from '../policy/import';
import { exportPath, ExportTarget } from '../policy/export';
import { AdjRibOut, Advertised, advertised } from './adj-rib-out';
import { packAnnouncements, buildWithdrawals, endOfRib } from './update-builder';
import { StaleRoutes } from './stale';
import type { Negotiated } from '../session/negotiate';
import { Logger, silentLogger } from '../log';

export interface SpeakerOptions {
  asn: number;
  routerId: string;
  /** Where to accept connections (one listener per address); false for none. */
  listen: { address?: string; addresses?: string[]; port: number } | false;
  /** Defaults for neighbors that do not set their own. */
  holdTime?: number;
  connectRetry?: number;
  hostname?: string;
  domain?: string;
  gracefulRestart?: LocalSettings['gracefulRestart'];
  /** Offer RFC 8950 extended next hop (kube-router does). Default true. */
  extendedNextHop?: boolean;
  enforceFirstAs?: boolean;
  /**
   * Export policy: decides per path and peer, on top of the BGP rules (split horizon, loops).
   * 'deny' withholds the path; an object adds communities or AS path prepending. Call
   * reapplyPolicies() when what it depends on changes.
   */
  exportPolicy?: (path: Path, peer: Peer) => ExportDecision;
  /**
   * Import policy: true accepts a route; false, or a string saying why, rejects it (kept in
   * Adj-RIB-In with the reason, never best).
   */
  importPolicy?: (prefix: string, peer: Peer) => ImportVerdict;
  transports?: TransportFactory;
  log?: Logger;
}

export type ImportVerdict = boolean | string;

export type NeighborInput = Pick<NeighborSettings, 'address' | 'asn'> & Partial<NeighborSettings>;

/**
 * What an export policy may change: communities to add, AS path prepending, and the next hop
 * (used when it is of the prefix's family; e.g. the node IP instead of the session's address).
 */
export type ExportDecision = 'deny' | { communities?: number[]; prepend?: { asn: number; times: number }; nextHop?: string };

/** Prefix changes sent per batch before yielding to the event loop. */
const FLUSH_BATCH = 20000;
const IMPORT_POLICY = 'rejected by import policy';
/** The reject reason stored on a path the import policy refused. */
const rejection = (verdict: false | string): string => (verdict === false ? IMPORT_POLICY : `${IMPORT_POLICY}: ${verdict}`);

/** Adds communities, AS path prepending and a next hop (export policy) to an advertisement. */
function withPolicy(adv: Advertised, d: Exclude<ExportDecision, 'deny'>, prefix: string): Advertised {
  const attrs: PathAttributes = { ...adv.attrs };
  if (d.nextHop && ipFamily(d.nextHop) === ipFamily(prefix)) attrs.nextHop = d.nextHop;
  if (d.communities?.length) attrs.communities = [...new Set([...(attrs.communities ?? []), ...d.communities])];
  if (d.prepend) attrs.asPath = prepend(attrs.asPath, d.prepend.asn, d.prepend.times);
  return { attrs, key: attributesKey(attrs) };
}

/** Share of a prefix limit at which a warning is logged. */
const PREFIX_WARNING = 0.75;
/** Distinct RFC 7606 notes remembered per session; beyond, new kinds are not logged. */
const MAX_DISTINCT_NOTES = 100;

/** Longest TCP MD5 key the kernel takes, octets. */
const MAX_MD5_KEY = 80;

/** How long a restarted peer has to send End-of-RIB before its stale routes go (FRR's default). */
const STALE_PATH_SECONDS = 360;

interface Session {
  peer: Peer;
  /** Export target, with our next hops toward this peer worked out once per session. */
  target: ExportTarget;
  out: AdjRibOut;
  flushing: boolean;
  /** Families whose initial advertisement is done (End-of-RIB sent). */
  synced: Set<Family>;
  /** Families being re-sent for a ROUTE-REFRESH: EoRR follows the flush. */
  refreshing: Set<Family>;
  /** Families for which the peer has sent End-of-RIB (its initial routes are all in). */
  eorReceived: Set<Family>;
  /** Prefixes whose best path cannot be encoded for this peer (logged once each, withheld). */
  notSent: Set<string>;
  /** Families whose 75 % prefix-limit warning was logged. */
  limitWarned: Set<Family>;
  /** RFC 7606 notes seen on this session, each logged the first time: note -> count. */
  notes: Map<string, number>;
}

export class Speaker extends EventEmitter {
  readonly rib: Rib;
  readonly peers = new Map<string, Peer>();
  private readonly sessions = new Map<string, Session>();
  private readonly stale = new StaleRoutes();
  private servers: net.Server[] = [];
  /** When a connection from a non-neighbour address was last logged, per address. */
  private readonly strangers = new Map<string, number>();
  private readonly log: Logger;
  private readonly local: LocalSettings;
  private readonly transports: TransportFactory;
  readonly startedAt = Date.now();

  constructor(readonly options: SpeakerOptions) {
    super();
    this.log = options.log ?? silentLogger;
    this.transports = options.transports ?? tcpTransports;
    this.local = {
      asn: options.asn,
      routerId: options.routerId,
      holdTime: options.holdTime ?? 90,
      families: FAMILIES,
      extendedNextHop: options.extendedNextHop ?? true,
    };
    if (options.hostname) this.local.hostname = options.hostname;
    if (options.domain) this.local.domain = options.domain;
    if (options.gracefulRestart) this.local.gracefulRestart = options.gracefulRestart;
    this.rib = new Rib(options.asn);
    this.rib.on('changes', (changes: BestChange[]) => this.onBestChanges(changes));
  }

  /** Starts listening (if configured). Peers start as they are added. */
  async start(): Promise<void> {
    const listen = this.options.listen;
    if (!listen) return;
    const hosts = listen.addresses?.length ? listen.addresses : [listen.address];
    for (const host of hosts) {
      const server = net.createServer({ noDelay: true }, (socket) => this.onIncoming(socket));
      server.on('error', (err) => this.log.error({ err }, 'listener error'));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: listen.port }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      this.servers.push(server);
      for (const peer of this.peers.values()) if (peer.settings.password) this.transports.setListenerKey(server, peer.address, peer.settings.password);
      this.log.info({ address: host ?? '*', port: this.listenPort }, 'listening for BGP connections');
    }
  }

  /** Whether every configured listener is accepting connections (true when none is configured). */
  get listening(): boolean {
    return !this.options.listen || (this.servers.length > 0 && this.servers.every((s) => s.listening));
  }

  get listenPort(): number | undefined {
    const addr = this.servers[0]?.address();
    return addr && typeof addr === 'object' ? addr.port : undefined;
  }

  /** RFC 2385: every listener must know a peer's key before the peer's SYN arrives. */
  private setListenerKeys(address: string, key: string): void {
    for (const server of this.servers) this.transports.setListenerKey(server, address, key);
  }

  /**
   * Stops every peer with Cease/Administrative Shutdown and stops accepting connections. Does not
   * wait for sockets to drain: server.close()'s callback would wait for every accepted socket,
   * and a peer may keep its side open.
   */
  async stop(): Promise<void> {
    for (const peer of this.peers.values()) peer.stop(CeaseSubcode.AdministrativeShutdown);
    for (const server of this.servers) server.close();
    this.servers = [];
  }

  addNeighbor(input: NeighborInput): Peer {
    const address = normalizeAddress(input.address)!;
    if (this.peers.has(address)) throw new Error(`neighbor ${address} already exists`);
    const keyBytes = input.password === undefined ? 0 : Buffer.byteLength(input.password);
    if (keyBytes > MAX_MD5_KEY) throw new Error(`neighbor ${address}: TCP MD5 key of ${keyBytes} bytes; at most ${MAX_MD5_KEY} (RFC 2385, TCP_MD5SIG_MAXKEYLEN)`);
    const settings: NeighborSettings = {
      port: BGP_PORT,
      passive: false,
      holdTime: this.options.holdTime ?? 90,
      connectRetry: this.options.connectRetry ?? 120,
      families: ['ipv4-unicast'],
      ...input,
      address,
    };
    const log = this.log.child({ peer: address, peerAsn: settings.asn });
    if (settings.password) this.setListenerKeys(address, settings.password);
    const peer = new Peer(settings, this.local, this.transports, log);
    peer.on('established', () => this.onEstablished(peer));
    peer.on('down', (_p: Peer, _reason: string, gr?: Negotiated['gracefulRestart']) => this.onDown(peer, gr));
    peer.on('update', (_p: Peer, u: ReceivedUpdate) => this.onUpdate(peer, u, log));
    peer.on('routeRefresh', (_p: Peer, family: Family, subtype: number) => this.onRouteRefresh(peer, family, subtype));
    peer.on('state', (_p: Peer, state: State) => this.emit('peerState', peer, state));
    this.peers.set(address, peer);
    peer.start();
    return peer;
  }

  /** Removes a neighbor: Cease/Peer De-configured (RFC 4486), and its routes go. */
  removeNeighbor(address: string): boolean {
    const key = normalizeAddress(address)!;
    const peer = this.peers.get(key);
    if (!peer) return false;
    peer.stop(CeaseSubcode.PeerDeconfigured);
    if (peer.settings.password) this.setListenerKeys(key, '');
    this.peers.delete(key);
    this.stale.forget(key);
    this.sessions.delete(key);
    this.rib.removeSource(key);
    this.emit('down', peer);
    return true;
  }

  /** Originates (or changes) a prefix of ours. Attributes default to ORIGIN IGP, empty path. */
  originate(prefix: string, attrs: Partial<PathAttributes> = {}): string {
    const p = canonicalPrefix(prefix);
    this.rib.apply(undefined, [{ prefix: p, attrs: { origin: Origin.Igp, asPath: [], nextHop: '', ...attrs } }]);
    return p;
  }

  withdraw(prefix: string): void {
    this.rib.apply(undefined, [{ prefix: canonicalPrefix(prefix), attrs: undefined }]);
  }

  /** Prefixes we originate. */
  originated(): string[] {
    return this.rib.adjRibIn('').map((p) => p.prefix);
  }

  /** Asks a neighbor to resend a family (ROUTE-REFRESH); false if not possible. */
  requestRefresh(address: string, family: Family): boolean {
    return this.peers.get(normalizeAddress(address)!)?.requestRefresh(family) ?? false;
  }

  /** The peer is Established and has sent End-of-RIB for every family it negotiated. */
  peerSynced(address: string): boolean {
    const s = this.sessions.get(normalizeAddress(address)!);
    return !!s && (s.peer.negotiated?.families ?? []).every((f) => s.eorReceived.has(f));
  }

  advertisedCount(address: string, family?: Family): number {
    return this.sessions.get(normalizeAddress(address)!)?.out.count(family) ?? 0;
  }

  advertised(address: string, family?: Family): [string, PathAttributes][] {
    return (this.sessions.get(normalizeAddress(address)!)?.out.entries(family) ?? []).map(([p, a]) => [p, a.attrs]);
  }

  private onIncoming(socket: net.Socket): void {
    // From the first moment: a reset before anyone else listens must not become an uncaught 'error'.
    socket.on('error', () => undefined);
    const remote = normalizeAddress(socket.remoteAddress);
    const peer = remote ? this.peers.get(remote) : undefined;
    if (!peer) {
      // At most one line a minute per address: a scan or a storm must not flood the log.
      const now = Date.now();
      if (remote && now - (this.strangers.get(remote) ?? 0) > 60000) {
        if (this.strangers.size > 1000) this.strangers.clear();
        this.strangers.set(remote, now);
        this.log.info({ remote }, 'rejecting connections from an address that is not a neighbor (logged once a minute per address)');
      }
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    peer.accept(socket);
  }

  private peerRef(peer: Peer): PeerRef {
    return { address: peer.address, asn: peer.settings.asn, routerId: peer.negotiated?.peerRouterId ?? '0.0.0.0', ibgp: peer.ibgp };
  }

  private target(peer: Peer): ExportTarget {
    const nextHops = new Map(FAMILIES.map((f) => [f, peer.localNextHop(f)]));
    for (const f of peer.negotiated?.families ?? []) {
      if (!nextHops.get(f)) {
        this.log.warn({ peer: peer.address, family: f }, `no ${f} next hop toward this peer (set nextHopIpv6 or add an address): not advertising ${f} to it`);
      }
    }
    return {
      address: peer.address,
      asn: peer.settings.asn,
      ibgp: peer.ibgp,
      families: peer.negotiated?.families ?? [],
      nextHop: (family) => nextHops.get(family),
    };
  }

  private onEstablished(peer: Peer): void {
    this.resumeAfterRestart(peer);
    const target = this.target(peer);
    const session: Session = { peer, target, out: new AdjRibOut(), flushing: false, synced: new Set(), refreshing: new Set(), eorReceived: new Set(), notSent: new Set(), limitWarned: new Set(), notes: new Map() };
    this.sessions.set(peer.address, session);
    for (const path of this.rib.bestPaths()) this.exportTo(session, target, path.prefix, path);
    this.schedule(session);
    this.emit('established', peer);
  }

  private onDown(peer: Peer, gr?: Negotiated['gracefulRestart']): void {
    this.sessions.delete(peer.address);
    if (!gr || gr.restartTime === 0 || gr.families.length === 0) {
      this.stale.forget(peer.address);
      this.rib.removeSource(peer.address);
    } else {
      // RFC 4724 4.2: keep the families the peer can restart gracefully, marked stale, until it
      // comes back and sends End-of-RIB, or until its restart time runs out.
      for (const family of FAMILIES) {
        if (gr.families.includes(family)) this.stale.mark(peer.address, family, this.rib.adjRibIn(peer.address, family).map((p) => p.prefix));
        else this.rib.removeSource(peer.address, family);
      }
      this.log.info({ peer: peer.address, restartTime: gr.restartTime, stale: this.stale.count(peer.address) }, 'graceful restart: keeping routes as stale');
      this.stale.startTimer(peer.address, gr.restartTime, () => this.guard('stale sweep', () => this.sweepStale(peer, undefined, 'restart time expired')));
    }
    this.emit('down', peer);
  }

  /** A restarted peer is back: families it no longer preserves are dropped, the rest wait for EoR. */
  private resumeAfterRestart(peer: Peer): void {
    if (!this.stale.has(peer.address)) return;
    const gr = peer.negotiated?.gracefulRestart;
    for (const family of this.stale.families(peer.address)) {
      if (!gr?.preservedFamilies.includes(family)) this.sweepStale(peer, family, 'forwarding state not preserved');
    }
    // RFC 4724 4.2 leaves the wait for End-of-RIB bounded by local policy: 360 s, as FRR.
    if (this.stale.has(peer.address)) this.stale.startTimer(peer.address, STALE_PATH_SECONDS, () => this.guard('stale sweep', () => this.sweepStale(peer, undefined, 'no End-of-RIB in time')));
  }

  private sweepStale(peer: Peer, family: Family | undefined, why: string): void {
    const prefixes = this.stale.sweep(peer.address, family);
    if (prefixes.length === 0) return;
    this.log.info({ peer: peer.address, family, withdrawn: prefixes.length, why }, 'withdrawing stale routes');
    this.rib.apply(this.peerRef(peer), prefixes.map((prefix) => ({ prefix, attrs: undefined })));
  }

  private onUpdate(peer: Peer, update: ReceivedUpdate, log: Logger): void {
    const negotiated = peer.negotiated;
    if (!negotiated) return;
    const result = importUpdate(update, {
      localAsn: this.options.asn,
      routerId: this.options.routerId,
      peer: this.peerRef(peer),
      as4: negotiated.as4,
      families: negotiated.families,
      enforceFirstAs: this.options.enforceFirstAs ?? true,
    });
    const session = this.sessions.get(peer.address);
    for (const note of result.notes) this.noteOnce(session, note, log);
    if (this.stale.has(peer.address)) for (const r of result.routes) this.stale.refresh(peer.address, r.prefix);
    if (result.routes.length) {
      // Checked before the routes go in: what is over the limit never reaches the RIB or other peers.
      if (session && !this.withinPrefixLimit(session, result.routes)) return;
      this.rib.apply(this.peerRef(peer), this.options.importPolicy ? result.routes.map((r) => this.judge(peer, r)) : result.routes);
    }
    if (result.endOfRib) {
      log.debug({ event: 'endOfRib', family: result.endOfRib }, 'received End-of-RIB');
      this.sessions.get(peer.address)?.eorReceived.add(result.endOfRib);
      this.emit('endOfRib', peer, result.endOfRib);
      this.sweepStale(peer, result.endOfRib, 'End-of-RIB');
    }
  }

  /**
   * RFC 7606 notes: each distinct one logged once per session (a peer repeating a malformed
   * attribute must not flood the log), counted always.
   */
  private noteOnce(session: Session | undefined, note: string, log: Logger): void {
    if (session) {
      const seen = session.notes.get(note);
      session.notes.set(note, (seen ?? 0) + 1);
      if (seen !== undefined) return;
      if (session.notes.size > MAX_DISTINCT_NOTES) {
        session.notes.delete(note);
        return;
      }
    }
    log.warn({ event: 'update', note }, 'UPDATE handled with errors (each kind logged once per session)');
  }

  /**
   * Max-prefix (RFC 4271 8.1.2, RFC 4486): paths held from this peer per family, plus those an
   * UPDATE would add, against its limit; a warning once at 75 %, the session ended above 100 %.
   * False when the session is being ended.
   */
  private withinPrefixLimit(session: Session, routes: readonly { prefix: string; attrs: unknown }[] = []): boolean {
    const peer = session.peer;
    const limit = peer.settings.maxPrefixes;
    if (!limit) return true;
    const adding: Record<Family, number> = { 'ipv4-unicast': 0, 'ipv6-unicast': 0 };
    for (const r of routes) if (r.attrs && !this.rib.holds(peer.address, r.prefix)) adding[familyOfPrefix(r.prefix)]++;
    for (const family of peer.negotiated?.families ?? []) {
      const n = this.rib.received(peer.address, family) + adding[family];
      if (n > limit) {
        peer.prefixLimitReached(family, limit, n);
        return false;
      }
      if (n >= limit * PREFIX_WARNING && !session.limitWarned.has(family)) {
        session.limitWarned.add(family);
        this.log.warn({ event: 'maxPrefixes', peer: peer.address, family, received: n, limit }, `neighbour is at ${Math.round((n / limit) * 100)} % of its ${family} prefix limit`);
      }
    }
    return true;
  }

  /** Changes a neighbour's prefix limit in place (no session restart); a lower one applies at once. */
  setPrefixLimit(address: string, maxPrefixes: number | undefined): void {
    const key = normalizeAddress(address)!;
    const peer = this.peers.get(key);
    if (!peer || peer.settings.maxPrefixes === maxPrefixes) return;
    if (maxPrefixes === undefined) delete peer.settings.maxPrefixes;
    else peer.settings.maxPrefixes = maxPrefixes;
    const session = this.sessions.get(key);
    if (session) {
      session.limitWarned.clear();
      this.withinPrefixLimit(session);
    }
  }

  private onRouteRefresh(peer: Peer, family: Family, subtype: number): void {
    const session = this.sessions.get(peer.address);
    if (!session) return;
    if (subtype === RouteRefreshSubtype.BeginOfRouteRefresh) {
      // RFC 7313 4.2: the peer re-advertises; what it does not repeat by EoRR is gone.
      this.stale.mark(peer.address, family, this.rib.adjRibIn(peer.address, family).map((p) => p.prefix));
      return;
    }
    if (subtype === RouteRefreshSubtype.EndOfRouteRefresh) {
      this.sweepStale(peer, family, 'End-of-Route-Refresh');
      return;
    }
    this.log.info({ peer: peer.address, family }, 'peer asked for a route refresh');
    peer.sendRefreshMarker(family, RouteRefreshSubtype.BeginOfRouteRefresh);
    session.refreshing.add(family);
    session.out.resend(family);
    this.schedule(session);
  }

  private onBestChanges(changes: BestChange[]): void {
    for (const session of this.sessions.values()) {
      // A failure exporting to one peer (its policy, say) resets that peer alone.
      try {
        for (const c of changes) this.exportTo(session, session.target, c.prefix, c.best);
        this.schedule(session);
      } catch (err) {
        this.log.error({ event: 'bug', peer: session.peer.address, err }, 'BUG: exception while exporting routes; resetting the session');
        session.peer.reset();
      }
    }
    this.guard('bestChanges listener', () => this.emit('bestChanges', changes));
  }

  /** Runs a callback the event loop calls (timers, listeners of ours); a throw is logged as a bug, never fatal. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ event: 'bug', what, err }, `BUG: exception in ${what}`);
    }
  }

  private exportTo(session: Session, target: ExportTarget, prefix: string, best: BestChange['best']): void {
    if (!best) {
      session.out.set(prefix, undefined);
      return;
    }
    const decision = this.options.exportPolicy?.(best, session.peer);
    if (decision === 'deny') {
      session.out.set(prefix, undefined);
      return;
    }
    let adv = session.out.exportCache.get(best.attrs);
    if (adv === undefined) {
      const attrs = exportPath(best, target, { asn: this.options.asn });
      adv = attrs ? advertised(attrs) : null;
      // Paths of one UPDATE and family share an attribute object (same source, same family), so
      // the export result is the same for all of them; ours are per prefix and not cached.
      if (best.source) session.out.exportCache.set(best.attrs, adv);
    }
    if (adv && decision && (decision.communities?.length || decision.prepend || decision.nextHop)) adv = withPolicy(adv, decision, prefix);
    session.out.set(prefix, adv ?? undefined);
  }

  /**
   * Applies changed policies to what is already known (soft reconfiguration): every Adj-RIB-In
   * path is judged again by the import policy, and every best path exported again.
   */
  reapplyPolicies(): void {
    const policy = this.options.importPolicy;
    if (policy) {
      for (const peer of this.peers.values()) {
        // Only the policy's own verdicts change; paths rejected for loops stay rejected.
        const flips = this.rib.adjRibIn(peer.address).filter((p) => {
          const verdict = policy(p.prefix, peer);
          const byPolicy = p.rejectReason?.startsWith(IMPORT_POLICY) ?? false;
          return (p.accepted && verdict !== true) || (byPolicy && (verdict === true || rejection(verdict) !== p.rejectReason));
        });
        if (flips.length) this.rib.apply(this.peerRef(peer), flips.map((p) => this.judge(peer, { prefix: p.prefix, attrs: p.attrs })));
      }
    }
    for (const session of this.sessions.values()) {
      for (const path of this.rib.bestPaths()) this.exportTo(session, session.target, path.prefix, path);
      for (const [prefix] of session.out.entries()) if (!this.rib.destination(prefix)?.best) session.out.set(prefix, undefined);
      this.schedule(session);
    }
  }

  /** The import policy's verdict on one route, in RouteInput form. */
  private judge(peer: Peer, r: { prefix: string; attrs: PathAttributes | undefined; accepted?: boolean; rejectReason?: string }): { prefix: string; attrs: PathAttributes | undefined; accepted?: boolean; rejectReason?: string } {
    const verdict = !r.attrs || r.accepted === false || !this.options.importPolicy ? true : this.options.importPolicy(r.prefix, peer);
    if (verdict === true) return r.accepted === undefined && r.rejectReason === undefined ? { prefix: r.prefix, attrs: r.attrs } : r;
    return { prefix: r.prefix, attrs: r.attrs, accepted: false, rejectReason: rejection(verdict) };
  }

  private schedule(session: Session): void {
    if (session.flushing) return;
    session.flushing = true;
    setImmediate(() => this.flush(session));
  }

  /** Sends pending changes in batches, waiting for the socket to drain between them. */
  private flush(session: Session): void {
    if (this.sessions.get(session.peer.address) !== session) return;
    let writable = true;
    try {
      writable = this.sendBatch(session);
    } catch (err) {
      // Never let one peer's UPDATE kill the process: end that session, the others go on.
      session.flushing = false;
      this.log.error({ event: 'bug', peer: session.peer.address, err }, 'BUG: exception while sending UPDATEs; resetting the session');
      session.peer.reset();
      return;
    }
    const next = (): void => {
      if (session.out.hasPending) {
        setImmediate(() => this.flush(session));
        return;
      }
      session.flushing = false;
      this.finishSync(session);
    };
    if (writable) next();
    else session.peer.onDrain(next);
  }

  /** One batch of pending changes, packed per family and attribute set; false when the socket is full. */
  private sendBatch(session: Session): boolean {
    const batch = session.out.take(FLUSH_BATCH);
    const codec = session.peer.codec;
    const byFamily = new Map<Family, { withdraw: string[]; announce: Map<string, { attrs: PathAttributes; prefixes: string[] }> }>();
    for (const [prefix, adv] of batch) {
      const family = familyOfPrefix(prefix);
      let f = byFamily.get(family);
      if (!f) byFamily.set(family, (f = { withdraw: [], announce: new Map() }));
      if (!adv) f.withdraw.push(prefix);
      else {
        let g = f.announce.get(adv.key);
        if (!g) f.announce.set(adv.key, (g = { attrs: adv.attrs, prefixes: [] }));
        g.prefixes.push(prefix);
      }
    }
    let writable = true;
    const withheld = new Set<string>();
    for (const [family, f] of byFamily) {
      const tooLong: string[] = [];
      for (const g of f.announce.values()) {
        const packed = packAnnouncements(family, g.attrs, g.prefixes, codec);
        for (const buf of packed.messages) writable = session.peer.send(buf) && writable;
        tooLong.push(...packed.tooLong);
      }
      // Withheld: withdrawn in case the peer holds an older path for it (a withdrawal of a
      // prefix it never had is ignored, RFC 4271 9.1.3), and no longer counted as advertised.
      for (const p of tooLong) withheld.add(p);
      for (const buf of buildWithdrawals(family, [...f.withdraw, ...tooLong], codec)) writable = session.peer.send(buf) && writable;
    }
    if (withheld.size || session.notSent.size) this.recordWithheld(session, batch.keys(), withheld);
    return writable;
  }

  /** Prefixes whose attributes cannot be encoded for this peer: logged once each and counted. */
  private recordWithheld(session: Session, taken: Iterable<string>, withheld: ReadonlySet<string>): void {
    session.out.forget([...withheld]);
    for (const prefix of taken) {
      if (!withheld.has(prefix)) {
        session.notSent.delete(prefix);
        continue;
      }
      if (session.notSent.has(prefix)) continue;
      session.notSent.add(prefix);
      session.peer.counters.routesNotSent++;
      this.log.warn({ event: 'notSent', peer: session.peer.address, prefix }, 'route not sent to this peer: its path attributes leave no room for it in a 4096-octet UPDATE');
    }
  }

  /** After the first full advertisement: End-of-RIB per family (RFC 4724 recommends it always). */
  private finishSync(session: Session): void {
    for (const family of session.peer.negotiated?.families ?? []) {
      if (session.synced.has(family)) continue;
      session.synced.add(family);
      session.peer.send(endOfRib(family, session.peer.codec));
    }
    for (const family of session.refreshing) session.peer.sendRefreshMarker(family, RouteRefreshSubtype.EndOfRouteRefresh);
    session.refreshing.clear();
  }
}
