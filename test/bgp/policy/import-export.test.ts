/** Import and export policy as tables of input, peer and expected routes. */
import { importUpdate as importKeys, ImportContext, ImportResult, splitByVerdict } from '../../../bgp/policy/import';
import { exportPath, ExportTarget, sameEbgpExport } from '../../../bgp/policy/export';
import { decodeMessage, ReceivedUpdate, encodeMessage, MessageType, Attribute } from '../../../bgp/codec';
import type { Path, PathAttributes, PeerRef } from '../../../bgp/rib/path';
import type { RouteInput } from '../../../bgp/rib/rib';
import { toWire } from '../../../bgp/rib/path';
import { prefixText } from '../../../net';

const EBGP: PeerRef = { address: '10.0.0.2', asn: 65001, routerId: '10.0.0.2', ibgp: false };
const IBGP: PeerRef = { address: '10.0.0.3', asn: 65000, routerId: '10.0.0.3', ibgp: true };
const ctx = (peer: PeerRef, over: Partial<ImportContext> = {}): ImportContext => ({
  localAsn: 65000,
  routerId: '10.0.0.1',
  peer,
  as4: true,
  families: ['ipv4-unicast', 'ipv6-unicast'],
  enforceFirstAs: true,
  ...over,
});

function update(attributes: Attribute[], nlri: string[] = ['10.1.0.0/24'], withdrawn: string[] = [], as4 = true): ReceivedUpdate {
  return decodeMessage(encodeMessage({ type: MessageType.Update, withdrawn, attributes, nlri }, { as4 }), { as4 }) as ReceivedUpdate;
}
/** One route of an import result, its prefix as text. */
type Route = Omit<RouteInput, 'prefixes'> & { prefix: string };

/**
 * Import, one route per prefix with its prefix as text (import passes on the codec's arrays of
 * prefixes, IPv4 as numbers, one RouteInput per family and kind).
 */
function importUpdate(u: ReceivedUpdate, c: ImportContext): Omit<ImportResult, 'routes'> & { routes: Route[] } {
  const r = importKeys(u, c);
  return { ...r, routes: r.routes.flatMap(({ prefixes, ...rest }) => prefixes.map((p) => ({ prefix: prefixText(p), ...rest }))) };
}
const base = (path: number[], extra: Attribute[] = []): Attribute[] => [
  { kind: 'origin', flags: 0x40, origin: 0 },
  { kind: 'asPath', flags: 0x40, segments: path.length ? [{ type: 2, asns: path }] : [] },
  { kind: 'nextHop', flags: 0x40, nextHop: '10.0.0.2' },
  ...extra,
];

describe('import', () => {
  it('splits routes by verdict into runs, the decoded array kept whole when every prefix is accepted', () => {
    const attrs = importKeys(update(base([65001])), ctx(EBGP)).routes[0]!.attrs;
    const prefixes = ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24'];
    expect(splitByVerdict({ prefixes, attrs }, () => undefined)[0]!.prefixes).toBe(prefixes);
    expect(
      splitByVerdict({ prefixes, attrs }, (p) => (String(p).startsWith('10.2.') || String(p).startsWith('10.3.') ? 'no' : undefined)),
    ).toEqual([
      { prefixes: ['10.1.0.0/24'], attrs },
      { prefixes: ['10.2.0.0/24', '10.3.0.0/24'], attrs, accepted: false, rejectReason: 'no' },
      { prefixes: ['10.4.0.0/24'], attrs },
    ]);
    expect(splitByVerdict({ prefixes: [], attrs }, () => 'no')).toEqual([]);
  });

  it('passes on the decoded prefixes as they are: one RouteInput per family and kind, no object per route', () => {
    const u = update(base([65001]), ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'], ['10.9.0.0/24']);
    const r = importKeys(u, ctx(EBGP));
    expect(r.routes).toHaveLength(2);
    expect(r.routes[0]!.prefixes).toBe(u.withdrawn);
    expect(r.routes[0]!.attrs).toBeUndefined();
    expect(r.routes[1]!.prefixes).toBe(u.nlri);
    expect(r.routes[1]!.attrs).toBeDefined();
  });

  it('accepts a plain eBGP route', () => {
    const r = importUpdate(update(base([65001])), ctx(EBGP));
    expect(r.routes).toEqual([
      { prefix: '10.1.0.0/24', attrs: expect.objectContaining({ nextHop: '10.0.0.2', asPath: [{ type: 2, asns: [65001] }] }) },
    ]);
  });
  it('keeps but rejects a route with our AS in the path (loop)', () => {
    const r = importUpdate(update(base([65001, 65000, 7])), ctx(EBGP));
    expect(r.routes[0]).toMatchObject({ accepted: false, rejectReason: expect.stringMatching(/AS loop/) });
  });
  it('withdraws a route whose path does not start with the eBGP peer AS', () => {
    expect(importUpdate(update(base([7, 8])), ctx(EBGP)).routes).toEqual([{ prefix: '10.1.0.0/24', attrs: undefined }]);
    expect(importUpdate(update(base([7, 8])), ctx(EBGP, { enforceFirstAs: false })).routes[0]!.attrs).toBeDefined();
  });
  it('drops LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST from eBGP, keeps them from iBGP', () => {
    const extra: Attribute[] = [
      { kind: 'localPref', flags: 0x40, localPref: 300 },
      { kind: 'originatorId', flags: 0x80, originatorId: '9.9.9.9' },
      { kind: 'clusterList', flags: 0x80, clusterIds: ['8.8.8.8'] },
    ];
    const e = importUpdate(update(base([65001], extra)), ctx(EBGP)).routes[0]!.attrs!;
    expect([e.localPref, e.originatorId, e.clusterList]).toEqual([undefined, undefined, undefined]);
    const i = importUpdate(update(base([], extra)), ctx(IBGP)).routes[0]!.attrs!;
    expect([i.localPref, i.originatorId, i.clusterList]).toEqual([300, '9.9.9.9', ['8.8.8.8']]);
  });
  it('rejects reflected routes that carry our router ID or cluster ID (RFC 4456)', () => {
    const mine = importUpdate(update(base([], [{ kind: 'originatorId', flags: 0x80, originatorId: '10.0.0.1' }])), ctx(IBGP)).routes[0]!;
    expect(mine).toMatchObject({ accepted: false });
    const cluster = importUpdate(update(base([], [{ kind: 'clusterList', flags: 0x80, clusterIds: ['10.0.0.1'] }])), ctx(IBGP)).routes[0]!;
    expect(cluster).toMatchObject({ accepted: false });
  });
  it('rebuilds the real path from a 2-octet peer (AS_TRANS + AS4_PATH)', () => {
    const u = update(
      [
        { kind: 'origin', flags: 0x40, origin: 0 },
        { kind: 'asPath', flags: 0x40, segments: [{ type: 2, asns: [65001, 23456] }] },
        { kind: 'nextHop', flags: 0x40, nextHop: '10.0.0.2' },
        { kind: 'as4Path', flags: 0xc0, segments: [{ type: 2, asns: [4200000001] }] },
      ],
      ['10.1.0.0/24'],
      [],
      false,
    );
    const a = importUpdate(u, ctx(EBGP, { as4: false })).routes[0]!.attrs!;
    expect(a.asPath).toEqual([{ type: 2, asns: [65001, 4200000001] }]);
  });
  it('treats every NLRI as withdrawn when RFC 7606 says so', () => {
    const bad = update(base([65001], [{ kind: 'communities', flags: 0xc0, communities: [] }]));
    // An empty COMMUNITIES attribute is malformed (length must be a non-zero multiple of 4).
    expect(importUpdate(bad, ctx(EBGP)).routes).toEqual([{ prefix: '10.1.0.0/24', attrs: undefined }]);
  });
  // NEXT_HOP (classic IPv4 NLRI) carries 4 octets: only IPv4 addresses get onto the wire.
  const withNextHop = (nextHop: string) =>
    update([
      { kind: 'origin', flags: 0x40, origin: 0 },
      { kind: 'asPath', flags: 0x40, segments: [{ type: 2, asns: [65001] }] },
      { kind: 'nextHop', flags: 0x40, nextHop },
    ]);
  it.each([
    ['224.0.0.1', 'multicast or reserved'],
    ['240.0.0.1', 'multicast or reserved'],
    ['255.255.255.255', 'broadcast'],
    ['0.0.0.0', 'unspecified'],
  ])('withdraws routes with the unusable next hop %j (%s)', (nextHop, why) => {
    const r = importUpdate(withNextHop(nextHop), ctx(EBGP));
    expect(r.routes).toEqual([{ prefix: '10.1.0.0/24', attrs: undefined }]);
    expect(r.notes.join()).toContain(`: ${why}`);
  });
  it.each(['223.255.255.255', '10.0.0.1', '1.0.0.0'])('keeps routes with the next hop %j', (nextHop) => {
    const r = importUpdate(withNextHop(nextHop), ctx(EBGP));
    expect(r.routes).toEqual([{ prefix: '10.1.0.0/24', attrs: expect.objectContaining({ nextHop }) }]);
  });
  it('ignores families that were not negotiated, and recognises End-of-RIB', () => {
    const r = importUpdate(update(base([65001])), ctx(EBGP, { families: ['ipv6-unicast'] }));
    expect(r.routes).toEqual([]);
    expect(r.notes.join()).toMatch(/not negotiated/);
    expect(importUpdate(update([], [], []), ctx(EBGP)).endOfRib).toBe('ipv4-unicast');
  });
});

describe('unknown optional transitive attributes', () => {
  it('are kept on import and passed on with the Partial bit set (RFC 4271 5)', () => {
    const u = update(base([65001], [{ kind: 'unknown', flags: 0xc0, code: 99, value: Buffer.from('abcdef', 'hex') }]));
    const attrs = importUpdate(u, ctx(EBGP)).routes[0]!.attrs!;
    expect(attrs.unknown).toEqual([{ flags: 0xc0, code: 99, value: Buffer.from('abcdef', 'hex') }]);
    const out = exportPath(
      { family: 'ipv4-unicast', attrs, source: EBGP, sinceSeconds: 0, accepted: true },
      { address: '10.0.0.9', asn: 65009, ibgp: false, families: ['ipv4-unicast'], nextHop: () => '10.0.0.1' },
      { asn: 65000 },
    )!;
    const wire = toWire(out);
    expect(wire.find((a) => a.kind === 'unknown')).toEqual({ kind: 'unknown', flags: 0xe0, code: 99, value: Buffer.from('abcdef', 'hex') });
  });
});

describe('export', () => {
  const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '10.0.0.2', med: 9, localPref: 150 };
  const path = (source: PeerRef | undefined, a: PathAttributes = attrs): Path => ({
    family: 'ipv4-unicast',
    attrs: a,
    source,
    sinceSeconds: 0,
    accepted: true,
  });
  const target = (peer: PeerRef): ExportTarget => ({
    address: peer.address,
    asn: peer.asn,
    ibgp: peer.ibgp,
    families: ['ipv4-unicast'],
    nextHop: () => '10.0.0.1',
  });
  const EBGP2: PeerRef = { address: '10.0.0.4', asn: 65002, routerId: '10.0.0.4', ibgp: false };
  const IBGP2: PeerRef = { address: '10.0.0.5', asn: 65000, routerId: '10.0.0.5', ibgp: true };
  const local = { asn: 65000 };

  it('never sends a route back to where it came from', () => expect(exportPath(path(EBGP), target(EBGP), local)).toBeUndefined());
  it('eBGP to eBGP: our AS prepended, next hop self, no MED, no LOCAL_PREF', () => {
    expect(exportPath(path(EBGP), target(EBGP2), local)).toEqual({
      origin: 0,
      asPath: [{ type: 2, asns: [65000, 65001] }],
      nextHop: '10.0.0.1',
    });
  });
  it('eBGP to iBGP: path and next hop kept, LOCAL_PREF set', () => {
    const out = exportPath(path(EBGP, { ...attrs, localPref: undefined }), target(IBGP2), local)!;
    expect(out).toMatchObject({ asPath: [{ type: 2, asns: [65001] }], nextHop: '10.0.0.2', localPref: 100, med: 9 });
  });
  it('iBGP to iBGP is split horizon', () => expect(exportPath(path(IBGP), target(IBGP2), local)).toBeUndefined());
  it('iBGP to eBGP: prepended, next hop self', () => {
    expect(exportPath(path(IBGP, { ...attrs, asPath: [] }), target(EBGP2), local)).toMatchObject({
      asPath: [{ type: 2, asns: [65000] }],
      nextHop: '10.0.0.1',
    });
  });
  it('our own routes keep their MED toward eBGP and get LOCAL_PREF 100 toward iBGP', () => {
    const own: PathAttributes = { origin: 0, asPath: [], nextHop: '', med: 3 };
    expect(exportPath(path(undefined, own), target(EBGP2), local)).toEqual({
      origin: 0,
      asPath: [{ type: 2, asns: [65000] }],
      nextHop: '10.0.0.1',
      med: 3,
    });
    expect(exportPath(path(undefined, own), target(IBGP2), local)).toEqual({
      origin: 0,
      asPath: [],
      nextHop: '10.0.0.1',
      med: 3,
      localPref: 100,
    });
  });
  it('does not offer a peer a path that already contains its AS', () => {
    expect(exportPath(path(EBGP, { ...attrs, asPath: [{ type: 2, asns: [65001, 65002] }] }), target(EBGP2), local)).toBeUndefined();
  });
  it('does not export families the peer did not negotiate', () => {
    expect(exportPath({ ...path(EBGP), family: 'ipv6-unicast' }, target(EBGP2), local)).toBeUndefined();
  });

  it('sameEbgpExport: paths it calls alike export alike toward eBGP (the outbound reuses the last result for them)', () => {
    const variants: PathAttributes[] = [
      attrs,
      { ...attrs, med: 10 },
      { ...attrs, med: undefined, localPref: 7, originatorId: '1.1.1.1', clusterList: ['2.2.2.2'] },
      { ...attrs, nextHop: '10.0.0.9', linkLocalNextHop: 'fe80::1' },
      { ...attrs, origin: 2 },
      { ...attrs, asPath: [{ type: 2, asns: [65001, 65003] }] },
      { ...attrs, communities: [1] },
      { ...attrs, atomicAggregate: true },
      { ...attrs, aggregator: { asn: 65001, address: '10.0.0.2' } },
      { ...attrs, largeCommunities: [[1, 2, 3]] },
    ];
    const exported = (a: PathAttributes) => JSON.stringify(exportPath(path(EBGP, a), target(EBGP2), local));
    let alike = 0;
    for (const a of variants)
      for (const b of variants) {
        if (!sameEbgpExport(a, b)) continue;
        alike++;
        expect(exported(a)).toBe(exported(b));
      }
    // The first four differ only in what eBGP export drops or replaces; the others each in something it keeps.
    expect(alike).toBe(4 * 4 + 6);
    // Equal lists that are not the same object are told apart (interning makes equal AS paths one object).
    expect(sameEbgpExport(attrs, { ...attrs, asPath: [{ type: 2, asns: [65001] }] })).toBe(false);
  });
});
