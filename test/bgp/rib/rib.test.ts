/**
 * The RIB's memory sharing: equal attribute sets are one object whoever sent them and however
 * many UPDATEs carried them, AS paths are shared between sets that differ elsewhere, and a set
 * leaves the table with its last path (no leak across churn).
 */
import { Rib } from '../../../bgp/rib/rib';
import type { PathAttributes, PeerRef } from '../../../bgp/rib/path';

const peer = (address: string, asn: number): PeerRef => ({ address, asn, routerId: address, ibgp: false });
const attrs = (med?: number): PathAttributes => ({
  origin: 0,
  asPath: [{ type: 2, asns: [65001, 65010] }],
  nextHop: '192.0.2.1',
  ...(med === undefined ? {} : { med }),
});

describe('RIB attribute sharing', () => {
  it('one object per distinct attribute set, across UPDATEs and peers', () => {
    const rib = new Rib(65000);
    const a = peer('192.0.2.1', 65001);
    const b = peer('192.0.2.2', 65001);
    // Three UPDATEs, each with its own (equal) attribute object: what GoBGP sends, one prefix each.
    rib.apply(a, [{ prefix: '10.0.1.0/24', attrs: attrs() }]);
    rib.apply(a, [{ prefix: '10.0.2.0/24', attrs: attrs() }]);
    rib.apply(b, [{ prefix: '10.0.3.0/24', attrs: attrs() }]);
    const held = [...rib.adjRibIn(a.address), ...rib.adjRibIn(b.address)].map((p) => p.attrs);
    expect(new Set(held).size).toBe(1);
    expect(rib.attributeSets).toBe(1);
  });

  it('sets that differ only in MED share their AS path', () => {
    const rib = new Rib(65000);
    const a = peer('192.0.2.1', 65001);
    rib.apply(a, [{ prefix: '10.0.1.0/24', attrs: attrs(1) }]);
    rib.apply(a, [{ prefix: '10.0.2.0/24', attrs: attrs(2) }]);
    const [p1, p2] = rib.adjRibIn(a.address);
    expect(p1!.attrs).not.toBe(p2!.attrs);
    expect(p1!.attrs.asPath).toBe(p2!.attrs.asPath);
    expect(rib.attributeSets).toBe(2);
  });

  it('a set goes when its last path is replaced, withdrawn or dropped with its session', () => {
    const rib = new Rib(65000);
    const a = peer('192.0.2.1', 65001);
    for (let i = 0; i < 50; i++) rib.apply(a, [{ prefix: `10.0.${i}.0/24`, attrs: attrs(i % 5) }]);
    expect(rib.attributeSets).toBe(5);
    // Replaced by equal attributes: still one set each; by new ones: the old sets go.
    for (let i = 0; i < 50; i++) rib.apply(a, [{ prefix: `10.0.${i}.0/24`, attrs: attrs(i % 5) }]);
    expect(rib.attributeSets).toBe(5);
    for (let i = 0; i < 50; i++) rib.apply(a, [{ prefix: `10.0.${i}.0/24`, attrs: attrs(100) }]);
    expect(rib.attributeSets).toBe(1);
    for (let i = 0; i < 25; i++) rib.apply(a, [{ prefix: `10.0.${i}.0/24`, attrs: undefined }]);
    expect(rib.attributeSets).toBe(1);
    rib.removeSource(a.address);
    expect(rib.attributeSets).toBe(0);
    expect(rib.destinations()).toEqual([]);
  });
});
