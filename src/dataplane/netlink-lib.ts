/**
 * The parts of the `netlink` package the agent uses: raw netlink sockets and rtnetlink. The
 * package's index also loads its nl80211 (Wi-Fi) and WireGuard modules, 0.4 MB of generated
 * struct code run at load, which an idle agent then held for nothing (docs/benchmarks.md). Its
 * package.json has no "exports" map, so these paths are the package's own public files.
 */
export { createNetlink } from 'netlink/dist/netlink';
export { createRtNetlink, RtNetlinkSocket } from 'netlink/dist/rt/rt';
export type { NetlinkMessage } from 'netlink/dist/structs';
