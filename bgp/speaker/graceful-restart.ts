/**
 * Graceful restart as the receiving speaker (RFC 4724 4.2) and enhanced route refresh (RFC 7313
 * 4.2): when a peer that can restart gracefully goes down, its routes stay, marked stale, until
 * it comes back and sends End-of-RIB (or EoRR), or a timer runs out; then what it did not
 * announce again is withdrawn from the RIB.
 */
import { prefixText, type PrefixKey } from '../../net';
import { FAMILIES, Family, RouteRefreshSubtype } from '../codec/constants';
import type { Peer } from '../session/peer';
import type { Negotiated } from '../session/negotiate';
import type { Rib } from '../rib/rib';
import type { PeerRef } from '../rib/path';
import { StaleRoutes } from './stale';
import type { Logger } from '../log';

/** How long a restarted peer has to send End-of-RIB before its stale routes go (FRR's default). */
const STALE_PATH_SECONDS = 360;

export class GracefulRestart {
  private readonly stale = new StaleRoutes();

  constructor(
    private readonly rib: Rib,
    private readonly log: Logger,
    private readonly peerRef: (peer: Peer) => PeerRef,
    /** Runs a timer's work so that a throw is logged as a bug, never fatal. */
    private readonly guard: (what: string, fn: () => void) => void,
  ) {}

  /** The session went down: its routes go, or stay stale for the families the peer can restart. */
  peerDown(peer: Peer, gr: Negotiated['gracefulRestart'] | undefined): void {
    if (!gr || gr.restartTime === 0 || gr.families.length === 0) {
      this.stale.forget(peer.address);
      this.rib.removeSource(peer.address);
      return;
    }
    for (const family of FAMILIES) {
      if (gr.families.includes(family)) this.stale.mark(peer.address, family, this.prefixesFrom(peer, family));
      else this.rib.removeSource(peer.address, family);
    }
    this.log.info(
      { peer: peer.address, restartTime: gr.restartTime, stale: this.stale.count(peer.address) },
      'graceful restart: keeping routes as stale',
    );
    this.stale.startTimer(peer.address, gr.restartTime, () =>
      this.guard('stale sweep', () => this.sweep(peer, undefined, 'restart time expired')),
    );
  }

  /** A restarted peer is back: families it no longer preserves are dropped, the rest wait for EoR. */
  peerUp(peer: Peer): void {
    if (!this.stale.has(peer.address)) return;
    const gr = peer.negotiated?.gracefulRestart;
    for (const family of this.stale.families(peer.address)) {
      if (!gr?.preservedFamilies.includes(family)) this.sweep(peer, family, 'forwarding state not preserved');
    }
    // RFC 4724 4.2 leaves the wait for End-of-RIB bounded by local policy: 360 s, as FRR.
    if (this.stale.has(peer.address))
      this.stale.startTimer(peer.address, STALE_PATH_SECONDS, () =>
        this.guard('stale sweep', () => this.sweep(peer, undefined, 'no End-of-RIB in time')),
      );
  }

  /** Prefixes the peer announced or withdrew again are no longer stale. */
  refreshed(peer: Peer, routes: readonly { prefixes: readonly PrefixKey[] }[]): void {
    if (!this.stale.has(peer.address)) return;
    for (const r of routes) for (const prefix of r.prefixes) this.stale.refresh(peer.address, prefixText(prefix));
  }

  endOfRib(peer: Peer, family: Family): void {
    this.sweep(peer, family, 'End-of-RIB');
  }

  /** RFC 7313 4.2: at BoRR the peer's routes of the family turn stale; at EoRR the rest go. */
  refreshMarker(
    peer: Peer,
    family: Family,
    subtype: RouteRefreshSubtype.BeginOfRouteRefresh | RouteRefreshSubtype.EndOfRouteRefresh,
  ): void {
    if (subtype === RouteRefreshSubtype.BeginOfRouteRefresh) this.stale.mark(peer.address, family, this.prefixesFrom(peer, family));
    else this.sweep(peer, family, 'End-of-Route-Refresh');
  }

  /** The neighbour was removed: nothing of it is kept. */
  forget(address: string): void {
    this.stale.forget(address);
  }

  private prefixesFrom(peer: Peer, family: Family): string[] {
    return this.rib.adjRibIn(peer.address, family).map(([prefix]) => prefix);
  }

  private sweep(peer: Peer, family: Family | undefined, why: string): void {
    const prefixes = this.stale.sweep(peer.address, family);
    if (prefixes.length === 0) return;
    this.log.info({ peer: peer.address, family, withdrawn: prefixes.length, why }, 'withdrawing stale routes');
    this.rib.apply(this.peerRef(peer), [{ prefixes, attrs: undefined }]);
  }
}
