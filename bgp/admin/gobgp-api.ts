/**
 * GoBGP's gRPC API, read-only, over our speaker (kube-router's --gobgp-admin-address/-port): the
 * `gobgp` CLI that kube-router users run in the pod (`gobgp neighbor`, `gobgp neighbor ADDR`,
 * `gobgp global`, `gobgp global rib [-a ipv6]`, `gobgp neighbor ADDR adj-in|adj-out`) works
 * unchanged. Changing calls (add path, add neighbor, ...) answer UNIMPLEMENTED: configuration
 * comes from the flags and the API server, as ever. protobufjs is loaded on the first call.
 */
import type net from 'node:net';
import type { Type, Root } from 'protobufjs';
import type { Speaker } from '../speaker/speaker';
import type { Peer } from '../session/peer';
import type { Path, PathAttributes } from '../rib/path';
import type { Family } from '../codec/constants';
import type { AfiSafi, Capability } from '../codec/capabilities';
import { State } from '../fsm/states';
import { canonicalIp, canonicalPrefix, hostPrefix, ipFamily, isIp, normalizeAddress, parsePrefix, prefixContains } from '../../net';
import type { Logger } from '../log';
import { GOBGP_SCHEMA, PeerType, SessionState, TableType } from './gobgp-schema';
import { GrpcError, GrpcStatus, startGrpcServer, type GrpcMethod } from './grpc';

const SERVICE = '/apipb.GobgpApi/';

type Obj = Record<string, unknown>;

/** Encodes plain objects as apipb messages; Any values are built from a type name and an object. */
class Codec {
  private readonly types = new Map<string, Type>();
  constructor(private readonly root: Root) {}

  type(name: string): Type {
    let t = this.types.get(name);
    if (!t) this.types.set(name, (t = this.root.lookupType(name)));
    return t;
  }

  encode(name: string, value: Obj): Uint8Array {
    const t = this.type(`apipb.${name}`);
    return t.encode(t.fromObject(value)).finish();
  }

  decode(name: string, bytes: Buffer): Obj {
    const t = this.type(`apipb.${name}`);
    try {
      return t.toObject(t.decode(bytes), { defaults: true, longs: Number }) as Obj;
    } catch (e) {
      throw new GrpcError(GrpcStatus.InvalidArgument, `bad ${name}: ${(e as Error).message}`);
    }
  }

  any(name: string, value: Obj): Obj {
    return { type_url: `type.googleapis.com/apipb.${name}`, value: this.encode(name, value) };
  }
}

function loadCodec(): Codec {
  // Loaded at the first call, not at start: most agents never get one.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const protobuf = require('protobufjs/light') as typeof import('protobufjs');
  return new Codec(protobuf.Root.fromJSON(GOBGP_SCHEMA));
}

const FAMILY: Record<Family, Obj> = { 'ipv4-unicast': { afi: 1, safi: 1 }, 'ipv6-unicast': { afi: 2, safi: 1 } };

function familyOf(f: Obj | undefined): Family {
  const afi = Number(f?.afi ?? 0);
  const safi = Number(f?.safi ?? 0);
  if ((afi === 0 || afi === 1) && (safi === 0 || safi === 1)) return 'ipv4-unicast';
  if (afi === 2 && (safi === 0 || safi === 1)) return 'ipv6-unicast';
  throw new GrpcError(GrpcStatus.InvalidArgument, `family afi ${afi} safi ${safi} is not served (ipv4-unicast and ipv6-unicast are)`);
}

const timestamp = (ms: number): Obj => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

const SESSION_STATE: Record<State, number> = {
  [State.Idle]: SessionState.Idle,
  [State.Connect]: SessionState.Connect,
  [State.Active]: SessionState.Active,
  [State.OpenSent]: SessionState.OpenSent,
  [State.OpenConfirm]: SessionState.OpenConfirm,
  [State.Established]: SessionState.Established,
};

function messages(c: Peer['counters']['received']): Obj {
  return { notification: c.notification, update: c.update, open: c.open, keepalive: c.keepalive, refresh: c.routeRefresh, total: c.total };
}

/**
 * Capabilities our codec keeps as unknown but the gobgp CLI only takes typed (given as unknown, it
 * panics): ADD-PATH (RFC 7911, 4-byte tuples) and long-lived graceful restart (RFC 9494, 7-byte
 * tuples), decoded here; one that does not parse is left out. Other unknown codes go as unknown.
 */
const TYPED_BY_GOBGP: Record<number, { size: number; name: string; tuple: (v: Buffer, at: number) => Obj }> = {
  69: { size: 4, name: 'AddPathCapability', tuple: (v, at) => ({ mode: v[at + 3] }) },
  71: { size: 7, name: 'LongLivedGracefulRestartCapability', tuple: (v, at) => ({ flags: v[at + 3], time: v.readUIntBE(at + 4, 3) }) },
};

function unknownCapabilityAny(c: Codec, code: number, value: Buffer): Obj | undefined {
  const typed = TYPED_BY_GOBGP[code];
  if (!typed) return c.any('UnknownCapability', { code, value });
  if (value.length % typed.size !== 0) return undefined;
  const tuples: Obj[] = [];
  for (let at = 0; at < value.length; at += typed.size)
    tuples.push({ family: { afi: value.readUInt16BE(at), safi: value[at + 2] }, ...typed.tuple(value, at) });
  return c.any(typed.name, { tuples });
}

/** A capability in GoBGP's form (the CLI lists ours and the peer's side by side). */
function capabilityAny(c: Codec, cap: Capability): Obj | undefined {
  const fam = (a: AfiSafi): Obj => ({ afi: a.afi, safi: a.safi });
  switch (cap.kind) {
    case 'multiprotocol':
      return c.any('MultiProtocolCapability', { family: fam(cap) });
    case 'routeRefresh':
      return c.any('RouteRefreshCapability', {});
    case 'routeRefreshCisco':
      return c.any('RouteRefreshCiscoCapability', {});
    case 'enhancedRouteRefresh':
      return c.any('EnhancedRouteRefreshCapability', {});
    case 'fourOctetAs':
      return c.any('FourOctetASNCapability', { asn: cap.asn });
    case 'gracefulRestart':
      return c.any('GracefulRestartCapability', {
        flags: cap.restartFlags,
        time: cap.restartTime,
        tuples: cap.families.map((t) => ({ family: fam(t), flags: t.flags })),
      });
    case 'extendedNextHop':
      return c.any('ExtendedNexthopCapability', {
        tuples: cap.entries.map((e) => ({ nlriFamily: fam(e), nexthopFamily: { afi: e.nextHopAfi, safi: 1 } })),
      });
    case 'fqdn':
      return c.any('FqdnCapability', { hostName: cap.hostname, domainName: cap.domain });
    case 'unknown':
      return unknownCapabilityAny(c, cap.code, cap.value);
  }
}

function peerMessage(c: Codec, s: Speaker, p: Peer): Obj {
  const n = p.negotiated;
  const type = p.ibgp ? PeerType.Internal : PeerType.External;
  const common = { description: p.settings.description ?? '', localAsn: s.options.asn, peerAsn: p.settings.asn, type };
  const timersState: Obj = { keepaliveInterval: n?.keepaliveTime ?? 0, negotiatedHoldTime: n?.holdTime ?? 0 };
  // gobgp shows "never" without an uptime, and the down time of a session that was once up.
  if (p.establishedAt !== undefined) {
    timersState.uptime = timestamp(p.establishedAt);
    if (p.state !== State.Established) timersState.downtime = timestamp(p.lastTransition);
  }
  return {
    conf: { ...common, neighborAddress: p.address },
    routeReflector: { routeReflectorClient: p.settings.routeReflectorClient === true, routeReflectorClusterId: s.clusterId ?? '' },
    state: {
      ...common,
      neighborAddress: p.address,
      messages: { received: messages(p.counters.received), sent: messages(p.counters.sent) },
      queues: {},
      sessionState: SESSION_STATE[p.state],
      adminState: 0,
      flops: p.flaps,
      routerId: n?.peerRouterId ?? '',
      // What we offer, and what the peer offered on the session now up.
      localCap: p.localOpen().capabilities.flatMap((cap) => capabilityAny(c, cap) ?? []),
      remoteCap: (n?.peerCapabilities ?? []).flatMap((cap) => capabilityAny(c, cap) ?? []),
    },
    timers: {
      config: {
        connectRetry: p.settings.connectRetry,
        holdTime: p.settings.holdTime,
        keepaliveInterval: Math.floor(p.settings.holdTime / 3),
      },
      state: timersState,
    },
    transport: {
      localAddress: p.localAddress ?? '',
      passiveMode: p.settings.passive,
      remoteAddress: p.address,
      remotePort: p.settings.port,
    },
    routeServer: {},
    afiSafis: p.settings.families.map((family) => {
      const received = s.rib.adjRibIn(p.address, family);
      return {
        config: { family: FAMILY[family], enabled: true },
        state: {
          family: FAMILY[family],
          enabled: n?.families.includes(family) ?? false,
          received: received.length,
          accepted: received.filter(([, p]) => p.accepted).length,
          advertised: s.advertised(p.address, family).length,
        },
      };
    }),
  };
}

/** A path in GoBGP's form: the NLRI and each attribute as an Any of its own message type. */
function pathMessage(c: Codec, prefix: string, family: Family, a: PathAttributes, extra: Obj): Obj {
  const p = parsePrefix(prefix);
  const nlri = c.any('IPAddressPrefix', { prefixLen: p.length, prefix: prefix.split('/')[0] });
  const nextHop = a.nextHop || (family === 'ipv6-unicast' ? '::' : '0.0.0.0');
  const pattrs = [
    c.any('OriginAttribute', { origin: a.origin }),
    c.any('AsPathAttribute', { segments: a.asPath.map((seg) => ({ type: seg.type, numbers: seg.asns })) }),
    family === 'ipv4-unicast'
      ? c.any('NextHopAttribute', { nextHop })
      : c.any('MpReachNLRIAttribute', { family: FAMILY[family], nextHops: [nextHop], nlris: [nlri] }),
  ];
  if (a.med !== undefined) pattrs.push(c.any('MultiExitDiscAttribute', { med: a.med }));
  if (a.localPref !== undefined) pattrs.push(c.any('LocalPrefAttribute', { localPref: a.localPref }));
  if (a.atomicAggregate) pattrs.push(c.any('AtomicAggregateAttribute', {}));
  if (a.aggregator) pattrs.push(c.any('AggregatorAttribute', { asn: a.aggregator.asn, address: a.aggregator.address }));
  if (a.communities?.length) pattrs.push(c.any('CommunitiesAttribute', { communities: a.communities }));
  if (a.originatorId) pattrs.push(c.any('OriginatorIdAttribute', { id: a.originatorId }));
  if (a.clusterList?.length) pattrs.push(c.any('ClusterListAttribute', { ids: a.clusterList }));
  if (a.largeCommunities?.length)
    pattrs.push(
      c.any('LargeCommunitiesAttribute', {
        communities: a.largeCommunities.map(([globalAdmin, localData1, localData2]) => ({ globalAdmin, localData1, localData2 })),
      }),
    );
  return { nlri, pattrs, family: FAMILY[family], ...extra };
}

function ribPath(c: Codec, prefix: string, p: Path, best: boolean): Obj {
  const src = p.source;
  return pathMessage(c, prefix, p.family, p.attrs, {
    age: { seconds: p.sinceSeconds, nanos: 0 },
    best,
    filtered: !p.accepted,
    sourceAsn: src?.asn ?? 0,
    sourceId: src?.routerId ?? '',
    neighborIp: src?.address ?? '',
    isFromExternal: src ? !src.ibgp : false,
  });
}

/**
 * The prefixes a TableLookupPrefix list keeps out of `all`: EXACT (a prefix, or an address: the
 * longest prefix holding it), LONGER, SHORTER. Each query is one pass over the table.
 */
function lookup(prefixes: Obj[] | undefined, all: readonly string[]): (prefix: string) => boolean {
  if (!prefixes?.length) return () => true;
  const kept = new Set<string>();
  for (const q of prefixes) {
    const text = String(q.prefix ?? '');
    let target: string;
    try {
      target = isIp(text) ? hostPrefix(canonicalIp(text)) : canonicalPrefix(text);
    } catch {
      throw new GrpcError(GrpcStatus.InvalidArgument, `${JSON.stringify(text)} is neither a prefix nor an address`);
    }
    const type = Number(q.type ?? 0);
    if (type === 0) {
      const hit = isIp(text) ? longestHolding(target, all) : all.includes(target) ? target : undefined;
      if (hit) kept.add(hit);
      continue;
    }
    for (const prefix of all) {
      if (!sameFamily(prefix, target)) continue;
      if (type === 1 ? prefixContains(target, prefix) : type === 2 && prefixContains(prefix, target)) kept.add(prefix);
    }
  }
  return (prefix) => kept.has(prefix);
}

const sameFamily = (a: string, b: string): boolean => ipFamily(a) === ipFamily(b);

function longestHolding(host: string, prefixes: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const p of prefixes)
    if (sameFamily(p, host) && prefixContains(p, host) && (!best || parsePrefix(p).length > parsePrefix(best).length)) best = p;
  return best;
}

type Source = Speaker | (() => Speaker | undefined);

/** One destination of a table: its paths, each encoded only if sent. */
interface Row {
  prefix: string;
  paths: { accepted: boolean; message: () => Obj }[];
}

function methods(source: Source, codec: () => Codec): Record<string, GrpcMethod> {
  const speaker = (): Speaker => {
    const s = typeof source === 'function' ? source() : source;
    if (!s) throw new GrpcError(GrpcStatus.Unavailable, 'the BGP speaker is not running');
    return s;
  };
  const peer = (s: Speaker, address: string): Peer => {
    const p = s.peers.get(normalizeAddress(address) ?? '');
    if (!p) throw new GrpcError(GrpcStatus.NotFound, `no neighbor ${JSON.stringify(address)}`);
    return p;
  };
  /** A table's rows kept by the request's lookups; each path's message is built only when sent. */
  const table = (s: Speaker, c: Codec, req: Obj): Row[] => {
    const family = familyOf(req.family as Obj | undefined);
    const type = Number(req.tableType ?? 0);
    const name = String(req.name ?? '');
    let rows: Row[];
    if (type === TableType.Global) {
      rows = s.rib.destinations(family).map((d) => ({
        prefix: d.prefix,
        paths: [...d.paths]
          .sort((x, y) => Number(y === d.best) - Number(x === d.best))
          .map((p) => ({ accepted: p.accepted, message: () => ribPath(c, d.prefix, p, p === d.best) })),
      }));
    } else if (type === TableType.AdjIn) {
      const address = peer(s, name).address;
      const byPrefix = new Map<string, Row>();
      for (const [prefix, p] of s.rib.adjRibIn(address, family)) {
        if (req.enableFiltered !== true && !p.accepted) continue;
        let row = byPrefix.get(prefix);
        if (!row) byPrefix.set(prefix, (row = { prefix, paths: [] }));
        row.paths.push({ accepted: p.accepted, message: () => ribPath(c, prefix, p, s.rib.best(prefix) === p) });
      }
      rows = [...byPrefix.values()];
    } else if (type === TableType.AdjOut) {
      rows = s.advertised(peer(s, name).address, family).map(([prefix, attrs]) => ({
        prefix,
        paths: [{ accepted: true, message: () => pathMessage(c, prefix, family, attrs, { best: true }) }],
      }));
    } else {
      throw new GrpcError(GrpcStatus.Unimplemented, `table type ${type} is not served (global, adj-in and adj-out are)`);
    }
    const keep = lookup(
      req.prefixes as Obj[] | undefined,
      rows.map((r) => r.prefix),
    );
    return rows.filter((r) => keep(r.prefix));
  };
  return {
    [`${SERVICE}GetBgp`]: (_req, send) => {
      const s = speaker();
      const listen = s.options.listen;
      const global: Obj = { asn: s.options.asn, routerId: s.options.routerId, listenPort: s.listenPort ?? -1 };
      if (listen) global.listenAddresses = [listen.address ?? '0.0.0.0'];
      send(codec().encode('GetBgpResponse', { global }));
    },
    [`${SERVICE}ListPeer`]: (req, send) => {
      const c = codec();
      const s = speaker();
      const address = normalizeAddress(String(c.decode('ListPeerRequest', req).address ?? ''));
      // As gobgpd: an unknown address lists nothing (the CLI says "not found neighbor").
      for (const p of s.peers.values())
        if (!address || p.address === address) send(c.encode('ListPeerResponse', { peer: peerMessage(c, s, p) }));
    },
    [`${SERVICE}ListPath`]: (req, send) => {
      const c = codec();
      const s = speaker();
      for (const row of table(s, c, c.decode('ListPathRequest', req)))
        send(c.encode('ListPathResponse', { destination: { prefix: row.prefix, paths: row.paths.map((p) => p.message()) } }));
    },
    [`${SERVICE}GetTable`]: (req, send) => {
      const c = codec();
      const s = speaker();
      const r = c.decode('GetTableRequest', req);
      const rows = table(s, c, { ...r, enableFiltered: true });
      const paths = rows.flatMap((row) => row.paths);
      send(
        c.encode('GetTableResponse', {
          numDestination: rows.length,
          numPath: paths.length,
          numAccepted: paths.filter((p) => p.accepted).length,
        }),
      );
    },
  };
}

/**
 * Serves the API on each address at `port`, for the speaker `source` gives at each call (an
 * agent's speaker comes and goes with its node); UNAVAILABLE while there is none.
 */
export async function startGobgpApi(source: Source, addresses: readonly string[], port: number, log: Logger): Promise<net.Server[]> {
  let codec: Codec | undefined;
  const m = methods(source, () => (codec ??= loadCodec()));
  const servers: net.Server[] = [];
  try {
    for (const address of addresses) servers.push(await startGrpcServer(m, { host: address, port }, log));
  } catch (e) {
    for (const server of servers) server.close();
    throw e;
  }
  return servers;
}
