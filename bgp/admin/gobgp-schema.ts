/**
 * The part of GoBGP's v3 gRPC API (protobuf package `apipb`, service `GobgpApi`) that the `gobgp`
 * CLI needs to show neighbours, the global settings and the RIBs: message names and field numbers
 * as that API defines them, written as a protobufjs JSON descriptor. Enum fields are plain int32
 * (the wire is the same); fields the CLI never reads are left out (protobuf skips absent fields).
 */

type Field = { type: string; id: number; rule?: 'repeated' };
type Fields = Record<string, Field>;

const f = (type: string, id: number): Field => ({ type, id });
const many = (type: string, id: number): Field => ({ type, id, rule: 'repeated' });
const msg = (fields: Fields): { fields: Fields } => ({ fields });

/** GoBGP's enums, by the numbers its API gives them. */
export const SessionState = { Unknown: 0, Idle: 1, Connect: 2, Active: 3, OpenSent: 4, OpenConfirm: 5, Established: 6 } as const;
export const TableType = { Global: 0, Local: 1, AdjIn: 2, AdjOut: 3, Vrf: 4 } as const;
export const PeerType = { Internal: 0, External: 1 } as const;

export const GOBGP_SCHEMA = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: msg({ type_url: f('string', 1), value: f('bytes', 2) }),
            Timestamp: msg({ seconds: f('int64', 1), nanos: f('int32', 2) }),
          },
        },
      },
    },
    apipb: {
      nested: {
        Family: msg({ afi: f('int32', 1), safi: f('int32', 2) }),
        // Requests.
        GetBgpRequest: msg({}),
        ListPeerRequest: msg({ address: f('string', 1), enableAdvertised: f('bool', 2) }),
        TableLookupPrefix: msg({ prefix: f('string', 1), type: f('int32', 2) }),
        ListPathRequest: msg({
          tableType: f('int32', 1),
          name: f('string', 2),
          family: f('Family', 3),
          prefixes: many('TableLookupPrefix', 4),
          sortType: f('int32', 5),
          enableFiltered: f('bool', 6),
        }),
        GetTableRequest: msg({ tableType: f('int32', 1), family: f('Family', 2), name: f('string', 3) }),
        // Responses.
        Global: msg({ asn: f('uint32', 1), routerId: f('string', 2), listenPort: f('int32', 3), listenAddresses: many('string', 4) }),
        GetBgpResponse: msg({ global: f('Global', 1) }),
        GetTableResponse: msg({ numDestination: f('uint64', 1), numPath: f('uint64', 2), numAccepted: f('uint64', 3) }),
        ListPeerResponse: msg({ peer: f('Peer', 1) }),
        Peer: msg({
          conf: f('PeerConf', 2),
          routeReflector: f('RouteReflector', 4),
          state: f('PeerState', 5),
          timers: f('Timers', 6),
          transport: f('Transport', 7),
          routeServer: f('RouteServer', 8),
          afiSafis: many('AfiSafi', 10),
        }),
        PeerConf: msg({
          description: f('string', 2),
          localAsn: f('uint32', 3),
          neighborAddress: f('string', 4),
          peerAsn: f('uint32', 5),
          type: f('int32', 7),
        }),
        RouteReflector: msg({ routeReflectorClient: f('bool', 1), routeReflectorClusterId: f('string', 2) }),
        RouteServer: msg({ routeServerClient: f('bool', 1) }),
        Message: msg({
          notification: f('uint64', 1),
          update: f('uint64', 2),
          open: f('uint64', 3),
          keepalive: f('uint64', 4),
          refresh: f('uint64', 5),
          total: f('uint64', 7),
        }),
        Messages: msg({ received: f('Message', 1), sent: f('Message', 2) }),
        Queues: msg({ input: f('uint32', 1), output: f('uint32', 2) }),
        PeerState: msg({
          description: f('string', 2),
          localAsn: f('uint32', 3),
          messages: f('Messages', 4),
          neighborAddress: f('string', 5),
          peerAsn: f('uint32', 6),
          type: f('int32', 8),
          queues: f('Queues', 9),
          sessionState: f('int32', 13),
          adminState: f('int32', 15),
          flops: f('uint32', 17),
          remoteCap: many('google.protobuf.Any', 18),
          localCap: many('google.protobuf.Any', 19),
          routerId: f('string', 20),
        }),
        TimersConfig: msg({ connectRetry: f('uint64', 1), holdTime: f('uint64', 2), keepaliveInterval: f('uint64', 3) }),
        TimersState: msg({
          keepaliveInterval: f('uint64', 3),
          negotiatedHoldTime: f('uint64', 5),
          uptime: f('google.protobuf.Timestamp', 6),
          downtime: f('google.protobuf.Timestamp', 7),
        }),
        Timers: msg({ config: f('TimersConfig', 1), state: f('TimersState', 2) }),
        Transport: msg({
          localAddress: f('string', 1),
          passiveMode: f('bool', 4),
          remoteAddress: f('string', 5),
          remotePort: f('uint32', 6),
        }),
        AfiSafiConfig: msg({ family: f('Family', 1), enabled: f('bool', 2) }),
        AfiSafiState: msg({
          family: f('Family', 1),
          enabled: f('bool', 2),
          received: f('uint64', 3),
          accepted: f('uint64', 4),
          advertised: f('uint64', 5),
        }),
        AfiSafi: msg({ config: f('AfiSafiConfig', 2), state: f('AfiSafiState', 3) }),
        ListPathResponse: msg({ destination: f('Destination', 1) }),
        Destination: msg({ prefix: f('string', 1), paths: many('Path', 2) }),
        Path: msg({
          nlri: f('google.protobuf.Any', 1),
          pattrs: many('google.protobuf.Any', 2),
          age: f('google.protobuf.Timestamp', 3),
          best: f('bool', 4),
          family: f('Family', 9),
          sourceAsn: f('uint32', 10),
          sourceId: f('string', 11),
          filtered: f('bool', 12),
          isFromExternal: f('bool', 14),
          neighborIp: f('string', 15),
        }),
        // Capabilities, each sent as a google.protobuf.Any of its own type.
        MultiProtocolCapability: msg({ family: f('Family', 1) }),
        RouteRefreshCapability: msg({}),
        RouteRefreshCiscoCapability: msg({}),
        EnhancedRouteRefreshCapability: msg({}),
        FourOctetASNCapability: msg({ asn: f('uint32', 1) }),
        GracefulRestartCapabilityTuple: msg({ family: f('Family', 1), flags: f('uint32', 2) }),
        GracefulRestartCapability: msg({ flags: f('uint32', 1), time: f('uint32', 2), tuples: many('GracefulRestartCapabilityTuple', 3) }),
        ExtendedNexthopCapabilityTuple: msg({ nlriFamily: f('Family', 1), nexthopFamily: f('Family', 2) }),
        ExtendedNexthopCapability: msg({ tuples: many('ExtendedNexthopCapabilityTuple', 1) }),
        FqdnCapability: msg({ hostName: f('string', 1), domainName: f('string', 2) }),
        AddPathCapabilityTuple: msg({ family: f('Family', 1), mode: f('int32', 2) }),
        AddPathCapability: msg({ tuples: many('AddPathCapabilityTuple', 1) }),
        LongLivedGracefulRestartCapabilityTuple: msg({ family: f('Family', 1), flags: f('uint32', 2), time: f('uint32', 3) }),
        LongLivedGracefulRestartCapability: msg({ tuples: many('LongLivedGracefulRestartCapabilityTuple', 1) }),
        UnknownCapability: msg({ code: f('uint32', 1), value: f('bytes', 2) }),
        // Path attributes, each sent as a google.protobuf.Any of its own type.
        IPAddressPrefix: msg({ prefixLen: f('uint32', 1), prefix: f('string', 2) }),
        OriginAttribute: msg({ origin: f('uint32', 1) }),
        AsSegment: msg({ type: f('int32', 1), numbers: many('uint32', 2) }),
        AsPathAttribute: msg({ segments: many('AsSegment', 1) }),
        NextHopAttribute: msg({ nextHop: f('string', 1) }),
        MultiExitDiscAttribute: msg({ med: f('uint32', 1) }),
        LocalPrefAttribute: msg({ localPref: f('uint32', 1) }),
        AtomicAggregateAttribute: msg({}),
        AggregatorAttribute: msg({ asn: f('uint32', 1), address: f('string', 2) }),
        CommunitiesAttribute: msg({ communities: many('uint32', 1) }),
        OriginatorIdAttribute: msg({ id: f('string', 1) }),
        ClusterListAttribute: msg({ ids: many('string', 1) }),
        MpReachNLRIAttribute: msg({ family: f('Family', 1), nextHops: many('string', 2), nlris: many('google.protobuf.Any', 3) }),
        LargeCommunity: msg({ globalAdmin: f('uint32', 1), localData1: f('uint32', 2), localData2: f('uint32', 3) }),
        LargeCommunitiesAttribute: msg({ communities: many('LargeCommunity', 1) }),
      },
    },
  },
};
