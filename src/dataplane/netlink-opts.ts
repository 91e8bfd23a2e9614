/**
 * Socket options the `netlink` package cannot set, applied to its sockets through our addon
 * (native/netlink-opts): NETLINK_NO_ENOBUFS, because the package aborts the process when a
 * receive queue overruns (a burst of route or rule events while we are busy: thousands of
 * routes added by anyone on the node), and a larger receive buffer so bursts fit. The package
 * does not expose its file descriptors, so we find them: the socket's port id names it in
 * /proc/self/net/netlink (this namespace's netlink sockets, with their inodes), and the inode
 * names the descriptor in /proc/self/fd.
 */
import fs from 'node:fs';
import { loadAddon } from '../util/native-addon';

interface Addon {
  noEnobufs(fd: number): void;
  rcvbufForce(fd: number, bytes: number): void;
}

/** Receive buffer for our netlink sockets: room for some thousands of events or replies. */
export const NETLINK_RCVBUF = 4 * 1024 * 1024;

const load = (): Addon => loadAddon<Addon>('native/netlink-opts/build/Release/netlink_opts.node', 'hardening netlink sockets');

/** The descriptor of this process's netlink socket with `port` (its port id) and `protocol`. */
export function netlinkFd(port: number, protocol: number): number {
  let inode: string | undefined;
  for (const line of fs.readFileSync('/proc/self/net/netlink', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (Number(f[1]) === protocol && Number(f[2]) === port) inode = f[9];
  }
  if (!inode) throw new Error(`no netlink socket with port ${port} (protocol ${protocol}) in /proc/self/net/netlink`);
  const target = `socket:[${inode}]`;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === target) return Number(fd);
    } catch {
      // closed meanwhile
    }
  }
  throw new Error(`no descriptor for netlink socket inode ${inode}`);
}

/**
 * Makes a netlink socket survive overruns: NETLINK_NO_ENOBUFS and a NETLINK_RCVBUF receive
 * buffer. Returns what failed (the socket then works as before, overruns still fatal), or
 * undefined.
 */
export function hardenNetlinkSocket(port: number, protocol: number): string | undefined {
  try {
    const a = load();
    const fd = netlinkFd(port, protocol);
    a.noEnobufs(fd);
    a.rcvbufForce(fd, NETLINK_RCVBUF);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
