/**
 * GoBGP's gRPC API on loopback, driven by a hand-made gRPC client (node:http2 and protobufjs with
 * the same schema): what the messages carry, each error's gRPC status, and hostile requests. The
 * real gobgp CLI reads it in test/interop/gobgp-api.test.ts.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import protobuf from 'protobufjs/light';
import { Speaker } from '../../../bgp/speaker/speaker';
import { startGobgpApi } from '../../../bgp/admin/gobgp-api';
import { GOBGP_SCHEMA } from '../../../bgp/admin/gobgp-schema';
import { frame } from '../../../bgp/admin/grpc';
import { silentLogger } from '../../../bgp/log';
import { establishFake } from '../../helpers/fake-peer';
import { ipv4Update } from '../../helpers/updates';

const root = protobuf.Root.fromJSON(GOBGP_SCHEMA);
const type = (name: string) => root.lookupType(`apipb.${name}`);
const encode = (name: string, value: object): Uint8Array => type(name).encode(type(name).fromObject(value)).finish();
const decode = (name: string, bytes: Uint8Array): Record<string, unknown> =>
  type(name).toObject(type(name).decode(bytes), { longs: Number, defaults: true }) as Record<string, unknown>;
type AnyMsg = { type_url: string; value: Uint8Array };
const unpack = (a: AnyMsg): [string, Record<string, unknown>] => {
  const name = a.type_url.replace('type.googleapis.com/apipb.', '');
  return [name, decode(name, a.value)];
};

interface Answer {
  status: number | undefined;
  httpStatus: number;
  message: string;
  messages: Buffer[];
}

/** One call: a raw body (already framed) or a request message; the answer's messages and status. */
async function call(port: number, method: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': `/apipb.GobgpApi/${method}`,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...headers,
      });
      const chunks: Buffer[] = [];
      let httpStatus = 0;
      let trailers: http2.IncomingHttpHeaders = {};
      req.on('response', (h) => {
        httpStatus = Number(h[':status']);
        if (h['grpc-status'] !== undefined) trailers = h;
      });
      req.on('trailers', (t) => (trailers = t));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', reject);
      req.on('end', () => {
        const all = Buffer.concat(chunks);
        const messages: Buffer[] = [];
        for (let at = 0; at < all.length; at += 5 + all.readUInt32BE(at + 1))
          messages.push(all.subarray(at + 5, at + 5 + all.readUInt32BE(at + 1)));
        const status = trailers['grpc-status'] === undefined ? undefined : Number(trailers['grpc-status']);
        resolve({ status, httpStatus, message: decodeURIComponent(String(trailers['grpc-message'] ?? '')), messages });
      });
      req.end(body);
    });
  } finally {
    session.close();
  }
}

describe("GoBGP's gRPC API (loopback)", () => {
  let speaker: Speaker | undefined;
  let servers: net.Server[] = [];
  let port = 0;
  const rpc = (method: string, request: string, value: object = {}) => call(port, method, frame(encode(request, value)));

  beforeAll(async () => {
    servers = await startGobgpApi(() => speaker, ['127.0.0.1'], 0, silentLogger);
    port = (servers[0]!.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await speaker?.stop();
  });

  it('answers UNAVAILABLE while there is no speaker (an agent whose node has not joined)', async () => {
    const a = await rpc('GetBgp', 'GetBgpRequest');
    expect(a).toMatchObject({ status: 14, message: 'the BGP speaker is not running', messages: [] });
  });

  it('ListPeer, GetBgp, ListPath and GetTable carry what the speaker holds, in GoBGP message types', async () => {
    speaker = new Speaker({ asn: 64512, routerId: '10.0.0.11', listen: false });
    speaker.originate('10.244.1.0/24');
    speaker.addNeighbor({ address: '10.0.0.254', asn: 64513, passive: true });
    speaker.addNeighbor({ address: '10.0.0.12', asn: 64512, passive: true });
    const t = establishFake(speaker, {
      address: '10.0.0.254',
      asn: 64513,
      families: ['ipv4-unicast'],
      // Kept as unknown by our codec; the gobgp CLI panics unless ADD-PATH and LLGR come typed.
      extraCapabilities: [
        { kind: 'unknown', code: 69, value: Buffer.from([0, 1, 1, 3]) },
        { kind: 'unknown', code: 71, value: Buffer.from([0, 1, 1, 0x80, 0, 1, 0x2c]) },
        { kind: 'unknown', code: 71, value: Buffer.from([0, 1, 1]) },
        { kind: 'unknown', code: 200, value: Buffer.from([7]) },
      ],
    });
    t.push(ipv4Update(['10.9.0.0/24', '10.9.1.0/24'], { asn: 64513, nextHop: '10.0.0.254' }));

    const global = decode('GetBgpResponse', (await rpc('GetBgp', 'GetBgpRequest')).messages[0]!).global as Record<string, unknown>;
    expect(global).toMatchObject({ asn: 64512, routerId: '10.0.0.11' });

    const peers = (await rpc('ListPeer', 'ListPeerRequest')).messages.map((m) => decode('ListPeerResponse', m).peer as never);
    expect(peers).toHaveLength(2);
    const up = peers.find((p: { conf: { neighborAddress: string } }) => p.conf.neighborAddress === '10.0.0.254') as unknown as {
      conf: Record<string, unknown>;
      state: { sessionState: number; peerAsn: number; type: number; remoteCap: AnyMsg[]; localCap: AnyMsg[] };
      timers: { state: { uptime?: object; negotiatedHoldTime: number } };
      afiSafis: { state: { received: number; accepted: number } }[];
    };
    expect(up.state).toMatchObject({ sessionState: 6, peerAsn: 64513, type: 1 });
    expect(up.timers.state.uptime).toBeDefined();
    expect(up.timers.state.negotiatedHoldTime).toBe(90);
    expect(up.afiSafis[0]!.state).toMatchObject({ received: 2, accepted: 2 });
    expect(up.state.remoteCap.map((c) => unpack(c)[0])).toEqual(
      expect.arrayContaining(['MultiProtocolCapability', 'RouteRefreshCapability', 'FourOctetASNCapability']),
    );
    expect(up.state.localCap.map(unpack)).toContainEqual(['FourOctetASNCapability', { asn: 64512 }]);
    const remote = up.state.remoteCap.map(unpack);
    expect(remote).toContainEqual(['AddPathCapability', { tuples: [{ family: { afi: 1, safi: 1 }, mode: 3 }] }]);
    // The truncated LLGR capability is left out, the whole one typed.
    expect(remote.filter(([name]) => name === 'LongLivedGracefulRestartCapability')).toEqual([
      ['LongLivedGracefulRestartCapability', { tuples: [{ family: { afi: 1, safi: 1 }, flags: 0x80, time: 300 }] }],
    ]);
    expect(remote).toContainEqual(['UnknownCapability', { code: 200, value: Buffer.from([7]) }]);
    const one = await rpc('ListPeer', 'ListPeerRequest', { address: '10.0.0.12' });
    expect(
      one.messages.map((m) => (decode('ListPeerResponse', m).peer as { state: { sessionState: number; type: number } }).state),
    ).toEqual([expect.objectContaining({ type: 0 })]);
    expect((await rpc('ListPeer', 'ListPeerRequest', { address: '10.0.0.99' })).messages).toEqual([]);

    const rib = (await rpc('ListPath', 'ListPathRequest', { tableType: 0, family: { afi: 1, safi: 1 } })).messages.map(
      (m) =>
        decode('ListPathResponse', m).destination as {
          prefix: string;
          paths: { best: boolean; nlri: AnyMsg; pattrs: AnyMsg[]; neighborIp: string }[];
        },
    );
    expect(rib.map((d) => d.prefix).sort()).toEqual(['10.244.1.0/24', '10.9.0.0/24', '10.9.1.0/24']);
    const learned = rib.find((d) => d.prefix === '10.9.0.0/24')!.paths[0]!;
    expect(learned.best).toBe(true);
    expect(learned.neighborIp).toBe('10.0.0.254');
    expect(unpack(learned.nlri)).toEqual(['IPAddressPrefix', { prefixLen: 24, prefix: '10.9.0.0' }]);
    expect(learned.pattrs.map(unpack)).toEqual([
      ['OriginAttribute', { origin: 0 }],
      ['AsPathAttribute', { segments: [{ type: 2, numbers: [64513] }] }],
      ['NextHopAttribute', { nextHop: '10.0.0.254' }],
    ]);
    const ours = rib.find((d) => d.prefix === '10.244.1.0/24')!.paths[0]!;
    expect(ours.pattrs.map(unpack)).toContainEqual(['NextHopAttribute', { nextHop: '0.0.0.0' }]);

    const table = decode('GetTableResponse', (await rpc('GetTable', 'GetTableRequest', { tableType: 2, name: '10.0.0.254' })).messages[0]!);
    expect(table).toEqual({ numDestination: 2, numPath: 2, numAccepted: 2 });
    const v6 = await rpc('ListPath', 'ListPathRequest', { tableType: 0, family: { afi: 2, safi: 1 } });
    expect(v6).toMatchObject({ status: 0, messages: [] });
  });

  it.each([
    ['an unserved family', 3, 'ListPath', 'ListPathRequest', { family: { afi: 25, safi: 70 } }, /family afi 25 safi 70 is not served/],
    ['an unknown neighbor', 5, 'ListPath', 'ListPathRequest', { tableType: 2, name: '10.0.0.99' }, /no neighbor "10.0.0.99"/],
    ['a table not kept', 12, 'ListPath', 'ListPathRequest', { tableType: 4 }, /table type 4 is not served/],
    [
      'a bad prefix filter',
      3,
      'ListPath',
      'ListPathRequest',
      { prefixes: [{ prefix: '10.300.0.0/8' }] },
      /neither a prefix nor an address/,
    ],
    ['a call that changes something', 12, 'AddPath', 'GetBgpRequest', {}, /not served \(read-only API\)/],
  ])('%s: gRPC status %d', async (_what, status, method, request, value, message) => {
    const a = await rpc(method, request, value);
    expect(a.status).toBe(status);
    expect(a.message).toMatch(message);
  });

  it('hostile requests get their status and leave the server answering', async () => {
    const compressed = Buffer.from([1, 0, 0, 0, 0]);
    expect((await call(port, 'ListPeer', compressed)).status).toBe(12);
    expect((await call(port, 'ListPeer', Buffer.from([0, 0, 0, 0, 9, 1]))).status).toBe(3);
    expect((await call(port, 'ListPeer', Buffer.from([0, 0]))).status).toBe(3);
    // A message that is not protobuf: field 1 (address) claims 100 bytes and has 2.
    expect(await call(port, 'ListPeer', frame(Buffer.from([0x0a, 100, 1, 2])))).toMatchObject({ status: 3 });
    expect((await call(port, 'ListPeer', Buffer.alloc(100 * 1024))).status).toBe(8);
    expect((await call(port, 'ListPeer', frame(Buffer.alloc(0)), { 'content-type': 'text/plain' })).httpStatus).toBe(415);
    expect((await rpc('ListPeer', 'ListPeerRequest')).messages).toHaveLength(2);
  });
});

describe('GoBGP API: a port someone else holds', () => {
  it('fails with EADDRINUSE and closes what it had opened on the addresses before', async () => {
    const net = await import('node:net');
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      // 127.0.0.2 first (free), then 127.0.0.1 (taken): the first listener must not stay behind.
      await expect(startGobgpApi(() => undefined, ['127.0.0.2', '127.0.0.1'], port, silentLogger)).rejects.toThrow(/EADDRINUSE/);
      const refused = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.2');
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    } finally {
      holder.close();
    }
  });
});
