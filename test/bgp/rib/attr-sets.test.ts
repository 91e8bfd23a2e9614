/**
 * Interned attribute sets: found by a hash of their values, equal in every value a route
 * carries, gone with their last holder, and a peer that makes their hashes collide gets no
 * sharing for the extra sets rather than a table that scans longer and longer buckets.
 */
import { AttributeSets, attributesHash, sameAttributes, seededHash } from '../../../bgp/rib/attr-sets';
import type { PathAttributes } from '../../../bgp/rib/path';

const base = (): PathAttributes => ({
  origin: 0,
  asPath: [
    { type: 2, asns: [65001, 4200000000] },
    { type: 1, asns: [65010, 65011] },
  ],
  nextHop: '192.0.2.1',
  med: 10,
  localPref: 200,
  aggregator: { asn: 65001, address: '192.0.2.9' },
  communities: [0xfde80001, 0xffffff01],
  extendedCommunities: [Buffer.from('0002fde800000001', 'hex')],
  largeCommunities: [[65001, 1, 2]],
  originatorId: '10.0.0.1',
  clusterList: ['10.0.0.42'],
  unknown: [{ flags: 0xc0, code: 99, value: Buffer.from([1, 2, 3]) }],
});

/** Each differs from base() in one value (or in whether a value is there at all). */
const variants: [string, (a: PathAttributes) => void][] = [
  ['origin', (a) => (a.origin = 1)],
  ['next hop', (a) => (a.nextHop = '192.0.2.2')],
  ['link-local next hop', (a) => (a.linkLocalNextHop = 'fe80::1')],
  ['MED value', (a) => (a.med = 11)],
  ['MED absent', (a) => delete a.med],
  ['MED 0 against absent', (a) => (a.med = 0)],
  ['LOCAL_PREF', (a) => (a.localPref = 100)],
  ['atomic aggregate', (a) => (a.atomicAggregate = true)],
  ['an ASN', (a) => (a.asPath[0]!.asns[1] = 4200000001)],
  ['a segment type', (a) => (a.asPath[1]!.type = 2)],
  [
    'ASNs moved between segments',
    (a) =>
      (a.asPath = [
        { type: 2, asns: [65001] },
        { type: 1, asns: [4200000000, 65010, 65011] },
      ]),
  ],
  ['a segment more', (a) => a.asPath.push({ type: 2, asns: [] })],
  ['aggregator AS', (a) => (a.aggregator = { asn: 65002, address: '192.0.2.9' })],
  ['aggregator address', (a) => (a.aggregator = { asn: 65001, address: '192.0.2.8' })],
  ['aggregator absent', (a) => delete a.aggregator],
  ['a community', (a) => (a.communities = [0xfde80001, 0xffffff02])],
  ['communities empty against absent', (a) => (a.communities = [])],
  ['an extended community', (a) => (a.extendedCommunities = [Buffer.from('0002fde800000002', 'hex')])],
  ['a large community', (a) => (a.largeCommunities = [[65001, 1, 3]])],
  ['originator', (a) => (a.originatorId = '10.0.0.2')],
  ['cluster list', (a) => (a.clusterList = ['10.0.0.42', '10.0.0.43'])],
  ['unknown attribute value', (a) => (a.unknown = [{ flags: 0xc0, code: 99, value: Buffer.from([1, 2, 4]) }])],
  ['unknown attribute code', (a) => (a.unknown = [{ flags: 0xc0, code: 98, value: Buffer.from([1, 2, 3]) }])],
];

/**
 * A variant above for every attribute a path carries. A Record of every key: a field added to
 * PathAttributes does not compile here until it has a variant, and so a place in
 * attributesHash and sameAttributes (and attributesKey, which lists the same fields).
 */
const variantOf: Record<keyof PathAttributes, string> = {
  origin: 'origin',
  asPath: 'an ASN',
  nextHop: 'next hop',
  linkLocalNextHop: 'link-local next hop',
  med: 'MED value',
  localPref: 'LOCAL_PREF',
  atomicAggregate: 'atomic aggregate',
  aggregator: 'aggregator AS',
  communities: 'a community',
  extendedCommunities: 'an extended community',
  largeCommunities: 'a large community',
  originatorId: 'originator',
  clusterList: 'cluster list',
  unknown: 'unknown attribute value',
};

describe('attribute set equality and hash', () => {
  it('every attribute of a path has a variant', () => {
    const names = new Set(variants.map(([name]) => name));
    for (const name of Object.values(variantOf)) expect(names).toContain(name);
  });

  it('equal copies (no object shared) are equal and hash alike', () => {
    expect(sameAttributes(base(), base())).toBe(true);
    expect(attributesHash(base(), 7)).toBe(attributesHash(base(), 7));
    // atomic aggregate false and absent mean the same
    expect(sameAttributes({ ...base(), atomicAggregate: false }, base())).toBe(true);
    expect(attributesHash({ ...base(), atomicAggregate: false }, 7)).toBe(attributesHash(base(), 7));
  });

  it.each(variants)('a different %s: not equal, another hash', (_, change) => {
    const other = base();
    change(other);
    expect(sameAttributes(base(), other)).toBe(false);
    expect(sameAttributes(other, base())).toBe(false);
    expect(attributesHash(other, 7)).not.toBe(attributesHash(base(), 7));
  });

  it('the seed changes every hash', () => {
    expect(attributesHash(base(), 1)).not.toBe(attributesHash(base(), 2));
  });
});

describe('AttributeSets', () => {
  it('equal sets are one, held until the last release; the first object becomes the shared one', () => {
    const sets = new AttributeSets();
    const first = base();
    const s1 = sets.find(first);
    s1.refs++;
    const s2 = sets.find(base());
    s2.refs++;
    expect(s2).toBe(s1);
    expect(s1.attrs).toBe(first);
    expect(sets.size).toBe(1);
    const other = { ...base(), med: 99 };
    const s3 = sets.find(other);
    s3.refs++;
    expect(s3).not.toBe(s1);
    // AS paths are shared between sets that differ elsewhere.
    expect(s3.attrs.asPath).toBe(s1.attrs.asPath);
    expect(sets.size).toBe(2);
    sets.release(first);
    expect(sets.size).toBe(2);
    sets.release(first);
    expect(sets.size).toBe(1);
    expect(sets.find(base())).not.toBe(s1);
  });

  it('AS paths are shared by value: in a row (compared with the last) and after another (interned)', () => {
    const sets = new AttributeSets();
    const other = [{ type: 2, asns: [64999] }];
    const found = [1, 2, 3, 4].map((med) => sets.find({ ...base(), med, asPath: med === 3 ? structuredClone(other) : base().asPath }));
    expect(found[1]!.attrs.asPath).toBe(found[0]!.attrs.asPath);
    expect(found[2]!.attrs.asPath).not.toBe(found[0]!.attrs.asPath);
    expect(found[2]!.attrs.asPath).toEqual(other);
    expect(found[3]!.attrs.asPath).toBe(found[0]!.attrs.asPath);
  });

  it('colliding hashes: equal sets still found, at most 8 sets kept per hash, the rest unshared', () => {
    const sets = new AttributeSets(() => 42);
    const held = Array.from({ length: 20 }, (_, i) => {
      const s = sets.find({ ...base(), med: i });
      s.refs++;
      return s;
    });
    expect(sets.size).toBe(8);
    for (let i = 0; i < 8; i++) expect(sets.find({ ...base(), med: i })).toBe(held[i]);
    // Past the bucket's room an equal set is another object: no sharing, no longer scans.
    expect(sets.find({ ...base(), med: 15 })).not.toBe(held[15]);
    // Releasing an unshared set touches nothing; releasing a kept one frees its place.
    sets.release(held[15]!.attrs);
    expect(sets.size).toBe(8);
    sets.release(held[3]!.attrs);
    expect(sets.size).toBe(7);
    expect(sets.find({ ...base(), med: 5 })).toBe(held[5]);
    const again = sets.find({ ...base(), med: 3 });
    expect(again).not.toBe(held[3]);
    expect(sets.size).toBe(8);
  });

  it('two sets under one hash: each released on its own', () => {
    const sets = new AttributeSets(seededHash(1));
    const collide = new AttributeSets(() => 1);
    for (const table of [sets, collide]) {
      const a = table.find({ ...base(), med: 1 });
      const b = table.find({ ...base(), med: 2 });
      a.refs++;
      b.refs++;
      table.release(a.attrs);
      expect(table.size).toBe(1);
      expect(table.find({ ...base(), med: 2 })).toBe(b);
      table.release(b.attrs);
      expect(table.size).toBe(0);
    }
  });
});
