/**
 * The parts of the `netlink` package the agent uses: raw netlink sockets and rtnetlink. The
 * package's index also loads its nl80211 (Wi-Fi; 240 KB of generated struct code run at load),
 * WireGuard and generic-netlink modules, which an idle agent then held for nothing
 * (docs/benchmarks.md). The package has no "exports" map: these paths are its own files.
 */
export { createNetlink } from 'netlink/dist/netlink';
export { createRtNetlink, RtNetlinkSocket } from 'netlink/dist/rt/rt';
export type { NetlinkMessage } from 'netlink/dist/structs';
