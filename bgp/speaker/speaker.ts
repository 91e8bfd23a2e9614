/**
 * The speaker facade: the listeners, the configured peers, the RIB, and the glue between them.
 * Received UPDATEs go through import policy into the RIB (inbound, here); best-path changes go
 * to each Established session's outbound pipeline (outbound.ts); a peer that restarts keeps its
 * routes stale (graceful-restart.ts). Users (the standalone daemon, the node agent) add
 * neighbours, originate prefixes and listen to the typed events of SpeakerEvents.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { BGP_PORT, FAMILIES, Family, Origin, RouteRefreshSubtype } from '../codec/constants';
import { CeaseSubcode } from '../codec/errors';
import { canonicalPrefix, normalizeAddress, prefixText } from '../../net';
import type { ReceivedUpdate } from '../codec/messages';
import { Peer, NeighborSettings } from '../session/peer';
import { LocalSettings } from '../session/negotiate';
import { tcpTransports, TransportFactory } from '../session/transport';
import { State } from '../fsm/states';
import { Rib, BestChange, LOCAL_SOURCE, type RouteInput } from '../rib/rib';
import type { Path, PathAttributes, PeerRef } from '../rib/path';
import { familyOfPrefix } from '../rib/path';
import { importUpdate, splitByVerdict } from '../policy/import';
import { Interner } from '../rib/intern';
import type { Advertised } from './adj-rib-out';
import type { ExportTarget } from '../policy/export';
import { ExportDecision, Outbound } from './outbound';
import { GracefulRestart } from './graceful-restart';
import { BfdManager } from '../bfd/manager';
import type { BfdSession } from '../bfd/session';
import { Listener } from './listener';
import type { Negotiated } from '../session/negotiate';
import { Logger, silentLogger } from '../log';

export type { ExportDecision } from './outbound';

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
   * Route reflection (RFC 4456): our cluster ID. Neighbours with routeReflectorClient are our
   * clients; with any of them and no cluster ID, the router ID serves as one.
   */
  clusterId?: string;
  /**
   * Export policy: decides per path and peer, on top of the BGP rules (split horizon, loops).
   * 'deny' withholds the path; an object adds communities or AS path prepending. Call
   * reapplyPolicies() when what it depends on changes.
   */
  exportPolicy?: (prefix: string, path: Path, peer: Peer) => ExportDecision;
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

const IMPORT_POLICY = 'rejected by import policy';
/** The reject reason stored on a path the import policy refused. */
const rejection = (verdict: false | string): string => (verdict === false ? IMPORT_POLICY : `${IMPORT_POLICY}: ${verdict}`);

/** Share of a prefix limit at which a warning is logged. */
const PREFIX_WARNING = 0.75;
/** Distinct RFC 7606 notes remembered per session; beyond, new kinds are not logged. */
const MAX_DISTINCT_NOTES = 100;

/** Longest TCP MD5 key the kernel takes, octets. */
const MAX_MD5_KEY = 80;

/** What the speaker keeps per Established session. */
interface Session {
  peer: Peer;
  outbound: Outbound;
  /** Families for which the peer has sent End-of-RIB (its initial routes are all in). */
  eorReceived: Set<Family>;
  /** Families whose 75 % prefix-limit warning was logged. */
  limitWarned: Set<Family>;
  /** RFC 7606 notes seen on this session, each logged the first time: note -> count. */
  notes: Map<string, number>;
}

/** The speaker's events, typed. */
export interface SpeakerEvents {
  /** A session reached Established (its initial advertisement is under way). */
  established: [peer: Peer];
  /** A session ended, or its neighbour was removed. */
  down: [peer: Peer];
  peerState: [peer: Peer, state: State];
  /** The peer's initial routes of a family are all in. */
  endOfRib: [peer: Peer, family: Family];
  /** Best paths changed (after import policy and the decision process). */
  bestChanges: [changes: BestChange[]];
}

export class Speaker extends EventEmitter<SpeakerEvents> {
  readonly rib: Rib;
  readonly peers = new Map<string, Peer>();
  private readonly sessions = new Map<string, Session>();
  private readonly gr: GracefulRestart;
  /** What we advertise, shared between routes and peers (received attributes are shared by the RIB). */
  private readonly advertisements = new Interner<Advertised>();
  /** One PeerRef per peer session, shared by all its paths. */
  private readonly peerRefs = new WeakMap<Peer, PeerRef>();
  private readonly listener: Listener;
  private readonly log: Logger;
  private readonly local: LocalSettings;
  private readonly transports: TransportFactory;
  /** BFD sessions, made with the first neighbour that asks for one. */
  private bfd: BfdManager | undefined;
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
    this.gr = new GracefulRestart(
      this.rib,
      this.log,
      (p) => this.peerRef(p),
      (what, fn) => this.guard(what, fn),
    );
    this.listener = new Listener(this.transports, this.log, (remote, socket) => this.onIncoming(remote, socket));
  }

  /** Starts listening (if configured). Peers start as they are added. */
  async start(): Promise<void> {
    const listen = this.options.listen;
    if (!listen) return;
    const keys = [...this.peers.values()]
      .filter((p) => p.settings.password)
      .map((p): [string, string] => [p.address, p.settings.password!]);
    await this.listener.listen(listen.addresses?.length ? listen.addresses : [listen.address], listen.port, keys);
  }

  /** Whether every configured listener is accepting connections (true when none is configured). */
  get listening(): boolean {
    return !this.options.listen || this.listener.listening;
  }

  get listenPort(): number | undefined {
    return this.listener.port;
  }

  /**
   * Stops accepting connections and ends every session: with Cease/Administrative Shutdown, or,
   * for a graceful restart (RFC 4724, when we offer it), by closing the connections without a
   * NOTIFICATION so that peers keep our routes until we are back.
   */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    const graceful = options.graceful === true && this.local.gracefulRestart !== undefined;
    if (graceful) this.log.info({ peers: this.peers.size }, 'stopping for a graceful restart: closing sessions without NOTIFICATION');
    for (const peer of this.peers.values()) {
      if (graceful) peer.release('stopped for a graceful restart');
      else peer.stop(CeaseSubcode.AdministrativeShutdown);
    }
    // BFD neighbours are told AdminDown, which RFC 5882 3.2 says is no failure: a peer helping our
    // graceful restart keeps our routes.
    this.bfd?.close();
    this.listener.close();
  }

  /**
   * Our restart is over (every peer's routes are in, or the deferral time ended): OPENs from now
   * on no longer set the Restart State bit (RFC 4724 3).
   */
  restartComplete(): void {
    const gr = this.local.gracefulRestart;
    if (gr?.restarting) this.local.gracefulRestart = { ...gr, restarting: false };
  }

  /** Whether OPENs still set the Restart State bit. */
  get restarting(): boolean {
    return this.local.gracefulRestart?.restarting ?? false;
  }

  addNeighbor(input: NeighborInput): Peer {
    const address = normalizeAddress(input.address)!;
    if (this.peers.has(address)) throw new Error(`neighbor ${address} already exists`);
    const keyBytes = input.password === undefined ? 0 : Buffer.byteLength(input.password);
    if (keyBytes > MAX_MD5_KEY)
      throw new Error(`neighbor ${address}: TCP MD5 key of ${keyBytes} bytes; at most ${MAX_MD5_KEY} (RFC 2385, TCP_MD5SIG_MAXKEYLEN)`);
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
    if (settings.password) this.listener.setKey(address, settings.password);
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
    this.bfd?.remove(key);
    if (peer.settings.password) this.listener.setKey(key, '');
    this.peers.delete(key);
    this.gr.forget(key);
    this.endSession(key);
    this.rib.removeSource(key);
    this.emit('down', peer);
    return true;
  }

  /** Originates (or changes) a prefix of ours. Attributes default to ORIGIN IGP, empty path. */
  originate(prefix: string, attrs: Partial<PathAttributes> = {}): string {
    const p = canonicalPrefix(prefix);
    this.rib.apply(undefined, [{ prefixes: [p], attrs: { origin: Origin.Igp, asPath: [], nextHop: '', ...attrs } }]);
    return p;
  }

  withdraw(prefix: string): void {
    this.rib.apply(undefined, [{ prefixes: [canonicalPrefix(prefix)], attrs: undefined }]);
  }

  /** Prefixes we originate. */
  originated(): string[] {
    return this.rib.adjRibIn(LOCAL_SOURCE).map(([prefix]) => prefix);
  }

  /** How many prefixes we originate (without walking the RIB for them). */
  originatedCount(): number {
    return this.rib.counts(LOCAL_SOURCE).received;
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
    return this.sessions.get(normalizeAddress(address)!)?.outbound.out.count(family) ?? 0;
  }

  advertised(address: string, family?: Family): [string, PathAttributes][] {
    return (this.sessions.get(normalizeAddress(address)!)?.outbound.out.entries(family) ?? []).map(([p, a]) => [p, a.attrs]);
  }

  /** A connection to one of our listeners: false when it is not from a neighbour. */
  private onIncoming(remote: string, socket: net.Socket): boolean {
    const peer = this.peers.get(remote);
    if (!peer) return false;
    socket.setNoDelay(true);
    if (peer.settings.ttl && this.transports.setTtl) {
      try {
        this.transports.setTtl(socket, peer.settings.ttl);
      } catch (e) {
        // A session with the wrong TTL is not the one configured: refuse it, as the dial side would.
        this.log.warn({ peer: remote, err: (e as Error).message }, 'cannot set the TTL of an incoming connection: closed');
        socket.destroy();
        return true;
      }
    }
    peer.accept(socket);
    return true;
  }

  private peerRef(peer: Peer): PeerRef {
    const cached = this.peerRefs.get(peer);
    if (cached && cached.routerId === (peer.negotiated?.peerRouterId ?? '0.0.0.0') && !!cached.client === this.isClient(peer))
      return cached;
    const ref: PeerRef = {
      address: peer.address,
      asn: peer.settings.asn,
      routerId: peer.negotiated?.peerRouterId ?? '0.0.0.0',
      ibgp: peer.ibgp,
    };
    if (this.isClient(peer)) ref.client = true;
    this.peerRefs.set(peer, ref);
    return ref;
  }

  private isClient(peer: Peer): boolean {
    return peer.ibgp && peer.settings.routeReflectorClient === true;
  }

  /** Our cluster ID when we reflect: configured, or the router ID once a neighbour is a client. */
  get clusterId(): string | undefined {
    if (this.options.clusterId) return this.options.clusterId;
    for (const peer of this.peers.values()) if (this.isClient(peer)) return this.options.routerId;
    return undefined;
  }

  private target(peer: Peer): ExportTarget {
    const nextHops = new Map(FAMILIES.map((f) => [f, peer.localNextHop(f)]));
    for (const f of peer.negotiated?.families ?? []) {
      if (!nextHops.get(f)) {
        this.log.warn(
          { peer: peer.address, family: f },
          `no ${f} next hop toward this peer (set nextHopIpv6 or add an address): not advertising ${f} to it`,
        );
      }
    }
    return {
      address: peer.address,
      asn: peer.settings.asn,
      ibgp: peer.ibgp,
      client: this.isClient(peer),
      families: peer.negotiated?.families ?? [],
      nextHop: (family) => nextHops.get(family),
    };
  }

  private onEstablished(peer: Peer): void {
    this.gr.peerUp(peer);
    const clusterId = this.clusterId;
    const outbound: Outbound = new Outbound(peer, this.target(peer), {
      asn: this.options.asn,
      ...(clusterId ? { clusterId } : {}),
      exportPolicy: this.options.exportPolicy,
      log: this.log,
      intern: (a) => this.advertisements.intern(a.key, a),
      current: () => this.sessions.get(peer.address)?.outbound === outbound,
      prefixes: this.rib.prefixes,
    });
    this.endSession(peer.address);
    this.sessions.set(peer.address, { peer, outbound, eorReceived: new Set(), limitWarned: new Set(), notes: new Map() });
    for (const [slot, path] of this.rib.bestBySlot()) outbound.export(slot, path);
    outbound.schedule();
    if (peer.settings.bfd) this.startBfd(peer);
    this.emit('established', peer);
  }

  /** The BFD session guarding a neighbour's BGP session, if it has one. */
  bfdSession(address: string): BfdSession | undefined {
    return this.bfd?.get(address);
  }

  /**
   * BFD starts with the first Established session (its local address is then known) and lives
   * as long as the neighbour; its failure ends the BGP session (RFC 5882 4.3).
   */
  private startBfd(peer: Peer): void {
    this.bfd ??= new BfdManager(this.log);
    const bfd = this.bfd;
    if (bfd.get(peer.address)) return;
    bfd.add(peer.address, peer.localAddress, peer.settings.bfd!).then(
      (session) => {
        if (this.peers.get(peer.address) !== peer) return bfd.remove(peer.address);
        session.on('failed', (reason) => peer.bfdDown(reason));
      },
      (err: Error) =>
        this.log.warn({ peer: peer.address, event: 'bfd', err: err.message }, 'cannot start BFD: the BGP session runs without it'),
    );
  }

  /** Forgets a session and gives back the prefix slots its Adj-RIB-Out held. */
  private endSession(address: string): void {
    this.sessions.get(address)?.outbound.out.close();
    this.sessions.delete(address);
  }

  private onDown(peer: Peer, gr?: Negotiated['gracefulRestart']): void {
    this.endSession(peer.address);
    this.gr.peerDown(peer, gr);
    this.emit('down', peer);
  }

  private onUpdate(peer: Peer, update: ReceivedUpdate, log: Logger): void {
    const negotiated = peer.negotiated;
    if (!negotiated) return;
    const result = importUpdate(update, {
      localAsn: this.options.asn,
      routerId: this.options.routerId,
      ...(this.options.clusterId ? { clusterId: this.options.clusterId } : {}),
      peer: this.peerRef(peer),
      as4: negotiated.as4,
      families: negotiated.families,
      enforceFirstAs: this.options.enforceFirstAs ?? true,
    });
    const session = this.sessions.get(peer.address);
    for (const note of result.notes) this.noteOnce(session, note, log);
    this.gr.refreshed(peer, result.routes);
    if (result.routes.length) {
      // Checked before the routes go in: what is over the limit never reaches the RIB or other peers.
      if (session && !this.withinPrefixLimit(session, result.routes)) return;
      this.rib.apply(this.peerRef(peer), this.options.importPolicy ? result.routes.flatMap((r) => this.judge(peer, r)) : result.routes);
    }
    if (result.endOfRib) {
      log.debug({ event: 'endOfRib', family: result.endOfRib }, 'received End-of-RIB');
      this.sessions.get(peer.address)?.eorReceived.add(result.endOfRib);
      this.emit('endOfRib', peer, result.endOfRib);
      this.gr.endOfRib(peer, result.endOfRib);
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
  private withinPrefixLimit(session: Session, routes: readonly RouteInput[] = []): boolean {
    const peer = session.peer;
    const limit = peer.settings.maxPrefixes;
    if (!limit) return true;
    const adding: Record<Family, number> = { 'ipv4-unicast': 0, 'ipv6-unicast': 0 };
    for (const r of routes) {
      if (!r.attrs) continue;
      for (const prefix of r.prefixes) if (!this.rib.holds(peer.address, prefix)) adding[familyOfPrefix(prefix)]++;
    }
    for (const family of peer.negotiated?.families ?? []) {
      const n = this.rib.received(peer.address, family) + adding[family];
      if (n > limit) {
        peer.prefixLimitReached(family, limit, n);
        return false;
      }
      if (n >= limit * PREFIX_WARNING && !session.limitWarned.has(family)) {
        session.limitWarned.add(family);
        this.log.warn(
          { event: 'maxPrefixes', peer: peer.address, family, received: n, limit },
          `neighbour is at ${Math.round((n / limit) * 100)} % of its ${family} prefix limit`,
        );
      }
    }
    return true;
  }

  /** Changes a neighbour's description (shown by `bgp neighbors`); the session goes on. */
  setDescription(address: string, description: string | undefined): void {
    const peer = this.peers.get(normalizeAddress(address)!);
    if (!peer) return;
    if (description === undefined) delete peer.settings.description;
    else peer.settings.description = description;
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

  /** ROUTE-REFRESH (RFC 2918, 7313): markers go to graceful restart's stale sweep, a request re-sends the family. */
  private onRouteRefresh(peer: Peer, family: Family, subtype: number): void {
    const session = this.sessions.get(peer.address);
    if (!session) return;
    if (subtype === RouteRefreshSubtype.BeginOfRouteRefresh || subtype === RouteRefreshSubtype.EndOfRouteRefresh) {
      this.gr.refreshMarker(peer, family, subtype);
      return;
    }
    this.log.info({ peer: peer.address, family }, 'peer asked for a route refresh');
    session.outbound.refresh(family);
  }

  private onBestChanges(changes: BestChange[]): void {
    for (const session of this.sessions.values()) {
      // A failure exporting to one peer (its policy, say) resets that peer alone.
      try {
        for (const c of changes) session.outbound.export(c.slot, c.best);
        session.outbound.schedule();
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

  /**
   * Applies changed policies to what is already known (soft reconfiguration): every Adj-RIB-In
   * path is judged again by the import policy, and every best path exported again.
   */
  reapplyPolicies(): void {
    const policy = this.options.importPolicy;
    if (policy) {
      // One pass over every Adj-RIB-In, the paths whose verdict flips grouped per peer.
      const flips = new Map<Peer, RouteInput[]>();
      for (const [prefix, p] of this.rib.allPaths()) {
        const peer = p.source && this.peers.get(p.source.address);
        if (!peer) continue;
        // Only the policy's own verdicts change; paths rejected for loops stay rejected.
        const verdict = policy(prefix, peer);
        const byPolicy = p.rejectReason?.startsWith(IMPORT_POLICY) ?? false;
        if ((p.accepted && verdict !== true) || (byPolicy && (verdict === true || rejection(verdict) !== p.rejectReason))) {
          const flip = { prefixes: [prefix], attrs: p.attrs };
          const list = flips.get(peer);
          if (list) list.push(flip);
          else flips.set(peer, [flip]);
        }
      }
      for (const [peer, paths] of flips)
        this.rib.apply(
          this.peerRef(peer),
          paths.flatMap((r) => this.judge(peer, r)),
        );
    }
    for (const { outbound } of this.sessions.values()) {
      for (const [slot, path] of this.rib.bestBySlot()) outbound.export(slot, path);
      for (const [prefix] of outbound.out.entries())
        if (!this.rib.best(prefix)) outbound.export(this.rib.prefixes.find(prefix)!, undefined);
      outbound.schedule();
    }
  }

  /** The import policy's verdicts on routes that share attributes (split where they differ). */
  private judge(peer: Peer, r: RouteInput): RouteInput[] {
    const policy = this.options.importPolicy;
    if (!r.attrs || r.accepted === false || !policy) return [r];
    return splitByVerdict(r, (prefix) => {
      const verdict = policy(prefixText(prefix), peer);
      return verdict === true ? undefined : rejection(verdict);
    });
  }
}
