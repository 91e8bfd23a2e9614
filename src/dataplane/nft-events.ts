/**
 * nftables change events: with iptables on its nf_tables backend (Debian's default), every
 * ruleset change anyone makes is announced on NETLINK_NETFILTER group NFNLGRP_NFTABLES. The
 * drift check then reads iptables only after a change, instead of every second. Where the
 * socket cannot be made (no nf_tables), the caller keeps reading every second.
 */
import { createNetlink } from './netlink-lib';
import { hardenNetlinkSocket } from './netlink-opts';

const NETLINK_NETFILTER = 12;
const NFNLGRP_NFTABLES = 7;

export class NftWatch {
  private readonly socket: ReturnType<typeof createNetlink>;
  /** Why the socket could not be made to survive receive overruns (see netlink-opts.ts), if it could not. */
  readonly unhardened: string | undefined;

  private constructor(onChange: () => void) {
    this.socket = createNetlink(NETLINK_NETFILTER);
    this.unhardened = hardenNetlinkSocket(this.socket.address().port, NETLINK_NETFILTER);
    this.socket.addMembership(NFNLGRP_NFTABLES);
    this.socket.on('message', () => onChange());
    // Dropped events (ENOBUFS, where the socket could not be hardened) mean changes we did not see: treat them as one.
    this.socket.on('error', () => onChange());
  }

  /** A watch, or undefined where the kernel offers no nftables events. */
  static open(onChange: () => void): NftWatch | undefined {
    try {
      return new NftWatch(onChange);
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.socket.close();
  }
}
