/**
 * What users of the BGP library may use: the speaker and its settings, policies and events, the
 * route and peer types its callbacks and events carry, the admin API (server, client, views,
 * text formatting), the gRPC framing the GoBGP API is served with (the agent's CRI client
 * speaks it too) and the logger interface. Code outside bgp/ imports from here only; the
 * codec, FSM, sessions and RIB stay internals that can change without touching the agent.
 */
export { Speaker } from './speaker/speaker';
export { warmUp } from './speaker/warm-up';
export type { WarmUpResult } from './speaker/warm-up';
export type { SpeakerOptions, SpeakerEvents, NeighborInput, ExportDecision, ImportVerdict } from './speaker/speaker';
export type { Peer, NeighborSettings } from './session/peer';
export { tcpTransports } from './session/transport';
export type { TransportFactory } from './session/transport';
export type { Path, PathAttributes, PeerRef } from './rib/path';
export type { BestChange } from './rib/rib';
export { FAMILIES } from './codec/constants';
export type { Family } from './codec/constants';
export { startAdminServer } from './admin/server';
export { startGobgpApi } from './admin/gobgp-api';
export { frame, unframe, startGrpcServer, GrpcError, GrpcStatus } from './admin/grpc';
export type { GrpcMethod } from './admin/grpc';
export type { ExtraEndpoints } from './admin/server';
export { adminRequest, AdminError } from './admin/client';
export { neighborViews, ribView, globalView } from './admin/views';
export type { NeighborView, PathView, GlobalView, FibStatus, FibLookup } from './admin/views';
export { duration, table, formatNeighbors, formatNeighborDetail, formatGlobal, formatRib } from './admin/format';
export { DEFAULT_BFD, bfdSettingError } from './bfd/session';
export type { BfdSettings, BfdSessionView } from './bfd/session';
export { silentLogger } from './log';
export type { Logger } from './log';
