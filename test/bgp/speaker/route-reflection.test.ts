/**
 * Route reflection (RFC 4456) in the speaker, over in-memory sessions. We (AS 65000, router ID
 * 10.0.0.1, cluster 1.1.1.1) have clients A and B, a non-client iBGP peer C and an eBGP peer D:
 * - from a client: to every other peer (A -> B, C, D);
 * - from a non-client: to clients only (C -> A, B, D; never to another non-client);
 * - reflected routes carry ORIGINATOR_ID (the originator's router ID) and CLUSTER_LIST (ours
 *   first); eBGP peers see neither;
 * - a route whose CLUSTER_LIST holds our cluster ID, or whose ORIGINATOR_ID is us, is a loop:
 *   kept in Adj-RIB-In as rejected, never best.
 * Without a cluster ID and without clients, iBGP split horizon holds as before.
 */
import { Speaker } from '../../../bgp/speaker/speaker';
import { prefixText } from '../../../net';
import { AttrFlag, decodeMessage, encodeMessage, MessageType, Origin, UpdateMessage } from '../../../bgp/codec';
import { establishFake } from '../../helpers/fake-peer';
import type { FakeTransport } from '../fuzz/fake-transport';

const A = '10.0.0.2';
const B = '10.0.0.3';
const C = '10.0.0.4';
const D = '10.0.0.5';

function ibgpUpdate(prefix: string, nextHop: string, extra: { originatorId?: string; clusterList?: string[] } = {}): Buffer {
  return encodeMessage(
    {
      type: MessageType.Update,
      withdrawn: [],
      nlri: [prefix],
      attributes: [
        { kind: 'origin', flags: AttrFlag.Transitive, origin: Origin.Igp },
        { kind: 'asPath', flags: AttrFlag.Transitive, segments: [] },
        { kind: 'nextHop', flags: AttrFlag.Transitive, nextHop },
        { kind: 'localPref', flags: AttrFlag.Transitive, localPref: 100 },
        ...(extra.originatorId ? [{ kind: 'originatorId' as const, flags: AttrFlag.Optional, originatorId: extra.originatorId }] : []),
        ...(extra.clusterList ? [{ kind: 'clusterList' as const, flags: AttrFlag.Optional, clusterIds: extra.clusterList }] : []),
      ],
    },
    { as4: true },
  );
}

/** What a fake peer received about `prefix`: its attributes, or undefined if never announced. */
function received(t: FakeTransport, prefix: string): UpdateMessage['attributes'] | undefined {
  for (const buf of t.written) {
    if (buf[18] !== MessageType.Update) continue;
    const u = decodeMessage(buf) as UpdateMessage;
    if (u.nlri.map(prefixText).includes(prefix)) return u.attributes;
  }
  return undefined;
}
const attr = <K extends string>(attrs: UpdateMessage['attributes'] | undefined, kind: K) =>
  attrs?.find((a) => a.kind === kind) as Extract<UpdateMessage['attributes'][number], { kind: K }> | undefined;

function reflector(clusterId: string | undefined, clients: string[]) {
  const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, ...(clusterId ? { clusterId } : {}) });
  for (const address of [A, B, C])
    speaker.addNeighbor({ address, asn: 65000, passive: true, routeReflectorClient: clients.includes(address) });
  speaker.addNeighbor({ address: D, asn: 65001, passive: true });
  const t = {
    a: establishFake(speaker, { address: A, asn: 65000, families: ['ipv4-unicast'] }),
    b: establishFake(speaker, { address: B, asn: 65000, families: ['ipv4-unicast'] }),
    c: establishFake(speaker, { address: C, asn: 65000, families: ['ipv4-unicast'] }),
    d: establishFake(speaker, { address: D, asn: 65001, families: ['ipv4-unicast'] }),
  };
  return { speaker, ...t };
}

describe('route reflection', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reflects a client route to every other peer with ORIGINATOR_ID and CLUSTER_LIST', () => {
    const { speaker, a, b, c, d } = reflector('1.1.1.1', [A, B]);
    a.push(ibgpUpdate('10.244.1.0/24', A));
    jest.advanceTimersByTime(10);
    expect(received(a, '10.244.1.0/24')).toBeUndefined();
    for (const t of [b, c]) {
      const attrs = received(t, '10.244.1.0/24');
      expect(attr(attrs, 'originatorId')?.originatorId).toBe(A);
      expect(attr(attrs, 'clusterList')?.clusterIds).toEqual(['1.1.1.1']);
      expect(attr(attrs, 'nextHop')?.nextHop).toBe(A);
    }
    const toD = received(d, '10.244.1.0/24');
    expect(toD).toBeDefined();
    expect(attr(toD, 'originatorId')).toBeUndefined();
    expect(attr(toD, 'clusterList')).toBeUndefined();
    void speaker.stop();
  });

  it('reflects a non-client route to clients only', () => {
    const { speaker, a, b, c, d } = reflector('1.1.1.1', [A]);
    c.push(ibgpUpdate('10.244.4.0/24', C));
    jest.advanceTimersByTime(10);
    expect(attr(received(a, '10.244.4.0/24'), 'clusterList')?.clusterIds).toEqual(['1.1.1.1']);
    expect(received(b, '10.244.4.0/24')).toBeUndefined(); // B is a non-client here
    expect(received(d, '10.244.4.0/24')).toBeDefined();
    void speaker.stop();
  });

  it('keeps the CLUSTER_LIST of a route reflected before, ours first, and ORIGINATOR_ID unchanged', () => {
    const { speaker, a, b } = reflector('1.1.1.1', [A, B]);
    a.push(ibgpUpdate('10.244.9.0/24', '10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['2.2.2.2'] }));
    jest.advanceTimersByTime(10);
    const attrs = received(b, '10.244.9.0/24');
    expect(attr(attrs, 'originatorId')?.originatorId).toBe('10.0.0.9');
    expect(attr(attrs, 'clusterList')?.clusterIds).toEqual(['1.1.1.1', '2.2.2.2']);
    void speaker.stop();
  });

  it('drops loops: our cluster ID in CLUSTER_LIST, or our router ID as ORIGINATOR_ID', () => {
    const { speaker, a, b } = reflector('1.1.1.1', [A, B]);
    a.push(ibgpUpdate('10.244.7.0/24', A, { originatorId: A, clusterList: ['1.1.1.1'] }));
    a.push(ibgpUpdate('10.244.8.0/24', A, { originatorId: '10.0.0.1' }));
    jest.advanceTimersByTime(10);
    const held = speaker.rib.adjRibIn(A);
    expect(held.map(([prefix, p]) => [prefix, p.accepted, p.rejectReason])).toEqual([
      ['10.244.7.0/24', false, 'CLUSTER_LIST contains our cluster ID'],
      ['10.244.8.0/24', false, 'ORIGINATOR_ID is our router ID'],
    ]);
    expect(received(b, '10.244.7.0/24')).toBeUndefined();
    expect(received(b, '10.244.8.0/24')).toBeUndefined();
    void speaker.stop();
  });

  it('with clients but no cluster ID configured, the router ID is the cluster ID', () => {
    const { speaker, a, b } = reflector(undefined, [A, B]);
    expect(speaker.clusterId).toBe('10.0.0.1');
    a.push(ibgpUpdate('10.244.1.0/24', A));
    jest.advanceTimersByTime(10);
    expect(attr(received(b, '10.244.1.0/24'), 'clusterList')?.clusterIds).toEqual(['10.0.0.1']);
    void speaker.stop();
  });

  it('no clients, no cluster ID: iBGP split horizon, nothing reflected', () => {
    const { speaker, a, b, c, d } = reflector(undefined, []);
    expect(speaker.clusterId).toBeUndefined();
    a.push(ibgpUpdate('10.244.1.0/24', A));
    jest.advanceTimersByTime(10);
    expect(received(b, '10.244.1.0/24')).toBeUndefined();
    expect(received(c, '10.244.1.0/24')).toBeUndefined();
    expect(received(d, '10.244.1.0/24')).toBeDefined();
    void speaker.stop();
  });
});
