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
    rib.apply(a, [{ prefixes: ['10.0.1.0/24'], attrs: attrs() }]);
    rib.apply(a, [{ prefixes: ['10.0.2.0/24'], attrs: attrs() }]);
    rib.apply(b, [{ prefixes: ['10.0.3.0/24'], attrs: attrs() }]);
    const held = [...rib.adjRibIn(a.address), ...rib.adjRibIn(b.address)].map(([, p]) => p.attrs);
    expect(new Set(held).size).toBe(1);
    expect(rib.attributeSets).toBe(1);
  });

  it('sets that differ only in MED share their AS path', () => {
    const rib = new Rib(65000);
    const a = peer('192.0.2.1', 65001);
    rib.apply(a, [{ prefixes: ['10.0.1.0/24'], attrs: attrs(1) }]);
    rib.apply(a, [{ prefixes: ['10.0.2.0/24'], attrs: attrs(2) }]);
    const [p1, p2] = rib.adjRibIn(a.address).map(([, p]) => p);
    expect(p1!.attrs).not.toBe(p2!.attrs);
    expect(p1!.attrs.asPath).toBe(p2!.attrs.asPath);
    expect(rib.attributeSets).toBe(2);
  });

  it('a set goes when its last path is replaced, withdrawn or dropped with its session', () => {
    const rib = new Rib(65000);
    const a = peer('192.0.2.1', 65001);
    for (let i = 0; i < 50; i++) rib.apply(a, [{ prefixes: [`10.0.${i}.0/24`], attrs: attrs(i % 5) }]);
    expect(rib.attributeSets).toBe(5);
    // Replaced by equal attributes: still one set each; by new ones: the old sets go.
    for (let i = 0; i < 50; i++) rib.apply(a, [{ prefixes: [`10.0.${i}.0/24`], attrs: attrs(i % 5) }]);
    expect(rib.attributeSets).toBe(5);
    for (let i = 0; i < 50; i++) rib.apply(a, [{ prefixes: [`10.0.${i}.0/24`], attrs: attrs(100) }]);
    expect(rib.attributeSets).toBe(1);
    for (let i = 0; i < 25; i++) rib.apply(a, [{ prefixes: [`10.0.${i}.0/24`], attrs: undefined }]);
    expect(rib.attributeSets).toBe(1);
    rib.removeSource(a.address);
    expect(rib.attributeSets).toBe(0);
    expect(rib.destinations()).toEqual([]);
  });

  it('the prefixes of one UPDATE share one path object; each still has its own entry, change and withdrawal', () => {
    const rib = new Rib(65000);
    const a = peer('192.0.2.1', 65001);
    const shared = attrs();
    const prefixes = ['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24', 'fd00:1::/64'];
    const changes = rib.apply(
      a,
      prefixes.map((prefix) => ({ prefixes: [prefix], attrs: shared })),
    );
    expect(changes.map((c) => [c.prefix, c.family])).toEqual([
      ['10.0.1.0/24', 'ipv4-unicast'],
      ['10.0.2.0/24', 'ipv4-unicast'],
      ['10.0.3.0/24', 'ipv4-unicast'],
      ['fd00:1::/64', 'ipv6-unicast'],
    ]);
    const held = new Map(rib.adjRibIn(a.address));
    // One object for the three IPv4 prefixes; the IPv6 one is of another family, a path of its own.
    expect(held.get('10.0.1.0/24')).toBe(held.get('10.0.2.0/24'));
    expect(held.get('10.0.2.0/24')).toBe(held.get('10.0.3.0/24'));
    expect(held.get('fd00:1::/64')).not.toBe(held.get('10.0.1.0/24'));
    expect(held.get('fd00:1::/64')!.family).toBe('ipv6-unicast');
    // Withdrawing one leaves the others with their shared path.
    expect(rib.apply(a, [{ prefixes: ['10.0.2.0/24'], attrs: undefined }])).toMatchObject([{ prefix: '10.0.2.0/24', best: undefined }]);
    expect(rib.best('10.0.1.0/24')).toBe(held.get('10.0.1.0/24'));
    expect(rib.best('10.0.3.0/24')).toBe(held.get('10.0.1.0/24'));
    expect(rib.counts(a.address)).toEqual({ received: 3, accepted: 3 });
  });

  it('a prefix twice in one UPDATE is replaced by its second path (a change each time), and differing verdicts do not share', () => {
    const rib = new Rib(65000);
    const a = peer('192.0.2.1', 65001);
    const shared = attrs();
    const changes = rib.apply(a, [
      { prefixes: ['10.0.1.0/24', '10.0.1.0/24'], attrs: shared },
      { prefixes: ['10.0.2.0/24'], attrs: shared, accepted: false, rejectReason: 'rejected by import policy' },
      { prefixes: ['10.0.3.0/24'], attrs: shared },
    ]);
    expect(changes.map((c) => c.prefix)).toEqual(['10.0.1.0/24', '10.0.1.0/24', '10.0.3.0/24']);
    expect(changes[1]!.previous).toBe(changes[0]!.best);
    expect(changes[1]!.best).not.toBe(changes[0]!.best);
    const held = new Map(rib.adjRibIn(a.address));
    expect(held.get('10.0.2.0/24')).toMatchObject({ accepted: false, rejectReason: 'rejected by import policy' });
    expect(held.get('10.0.3.0/24')).toMatchObject({ accepted: true });
    expect(held.get('10.0.3.0/24')!.rejectReason).toBeUndefined();
    expect(rib.destination('10.0.2.0/24')!.best).toBeUndefined();
    expect(rib.counts(a.address)).toEqual({ received: 3, accepted: 2 });
  });
});

describe('Adj-RIB-In held in the Loc-RIB', () => {
  it("keeps each source's paths apart where they share prefixes: views, counts, removal", () => {
    const rib = new Rib(65000);
    const a = peer('192.0.2.1', 65001);
    const b = peer('192.0.2.2', 65002);
    rib.apply(a, [
      { prefixes: ['10.0.1.0/24'], attrs: attrs() },
      { prefixes: ['10.0.2.0/24'], attrs: attrs(), accepted: false, rejectReason: 'loop' },
      { prefixes: ['fd00:1::/64'], attrs: { ...attrs(), nextHop: 'fd00::1' } },
    ]);
    rib.apply(b, [
      { prefixes: ['10.0.1.0/24'], attrs: attrs(5) },
      { prefixes: ['10.0.3.0/24'], attrs: attrs() },
    ]);
    rib.apply(undefined, [{ prefixes: ['10.0.9.0/24'], attrs: attrs() }]);
    const prefixes = (address: string, family?: 'ipv4-unicast' | 'ipv6-unicast') =>
      rib
        .adjRibIn(address, family)
        .map(([prefix]) => prefix)
        .sort();
    expect(prefixes(a.address)).toEqual(['10.0.1.0/24', '10.0.2.0/24', 'fd00:1::/64']);
    expect(prefixes(a.address, 'ipv6-unicast')).toEqual(['fd00:1::/64']);
    expect(prefixes(b.address)).toEqual(['10.0.1.0/24', '10.0.3.0/24']);
    expect(prefixes('')).toEqual(['10.0.9.0/24']);
    expect(rib.counts(a.address)).toEqual({ received: 3, accepted: 2 });
    expect(rib.received(a.address, 'ipv4-unicast')).toBe(2);
    expect(rib.holds(b.address, '10.0.2.0/24')).toBe(false);
    expect(rib.holds(a.address, '10.0.2.0/24')).toBe(true);
    expect(rib.destination('10.0.1.0/24')!.paths).toHaveLength(2);
    expect(rib.destination('10.0.2.0/24')!.best).toBeUndefined();
    expect([...rib.allPaths()]).toHaveLength(6);

    // A replaced path changes the counts once; a withdrawal of what a source never sent is nothing.
    rib.apply(a, [
      { prefixes: ['10.0.2.0/24'], attrs: attrs() },
      { prefixes: ['10.0.3.0/24'], attrs: undefined },
    ]);
    expect(rib.counts(a.address)).toEqual({ received: 3, accepted: 3 });
    expect(rib.destination('10.0.3.0/24')!.paths).toHaveLength(1);

    // Graceful restart drops one family of a source, a session end all of it; the others stay.
    const changes = rib.removeSource(a.address, 'ipv6-unicast');
    expect(changes.map((c) => [c.prefix, c.best])).toEqual([['fd00:1::/64', undefined]]);
    expect(rib.counts(a.address)).toEqual({ received: 2, accepted: 2 });
    rib.removeSource(a.address);
    expect(rib.counts(a.address)).toEqual({ received: 0, accepted: 0 });
    expect(rib.adjRibIn(a.address)).toEqual([]);
    expect(rib.destination('10.0.1.0/24')!.best!.source).toBe(b);
    expect(rib.destination('10.0.2.0/24')).toBeUndefined();
    expect(prefixes(b.address)).toEqual(['10.0.1.0/24', '10.0.3.0/24']);
  });
});

describe('a prefix going from one path to several and back', () => {
  it('runs the decision when a second source arrives and reports each change of best once', () => {
    const rib = new Rib(65000);
    const a = peer('192.0.2.1', 65001);
    const b = peer('192.0.2.2', 65002);
    const P = '10.0.1.0/24';
    // best() and paths() answer without a view, and always as the view does.
    const bestOf = () => {
      const d = rib.destination(P);
      expect(rib.best(P)).toBe(d?.best);
      expect(rib.paths(P)).toEqual(d?.paths ?? []);
      return d?.best;
    };
    const changed = (c: ReturnType<Rib['apply']>) => c.map((x) => [x.prefix, x.best?.source?.address, x.previous?.source?.address]);

    expect(changed(rib.apply(a, [{ prefixes: [P], attrs: attrs(10) }]))).toEqual([[P, a.address, undefined]]);
    expect(rib.destination(P)).toMatchObject({ prefix: P, family: 'ipv4-unicast', reason: 'only path' });
    // A second source makes it a decision (whichever wins; the test follows the winner).
    const second = rib.apply(b, [{ prefixes: [P], attrs: { ...attrs(), asPath: [{ type: 2, asns: [65002] }] } }]);
    expect(rib.destination(P)!.paths).toHaveLength(2);
    expect(rib.destination(P)!.reason).not.toBe('only path');
    const winner = bestOf()!.source!.address;
    expect(changed(second)).toEqual(winner === b.address ? [[P, b.address, a.address]] : []);
    // The loser replaced by an equal path: the best stays, nothing is reported.
    const loser = winner === a.address ? b : a;
    const loserAttrs = loser === a ? attrs(10) : { ...attrs(), asPath: [{ type: 2, asns: [65002] }] };
    expect(rib.apply(loser, [{ prefixes: [P], attrs: loserAttrs }])).toEqual([]);
    expect(bestOf()!.source!.address).toBe(winner);
    // The winner withdrawn: the loser is alone and best again.
    const w = winner === a.address ? a : b;
    expect(changed(rib.apply(w, [{ prefixes: [P], attrs: undefined }]))).toEqual([[P, loser.address, winner]]);
    expect(rib.destination(P)).toMatchObject({ paths: [expect.objectContaining({ source: loser })], reason: 'only path' });
    // Replaced alone by a path import rejected: no best; withdrawn: gone.
    expect(changed(rib.apply(loser, [{ prefixes: [P], attrs: loserAttrs, accepted: false, rejectReason: 'loop' }]))).toEqual([
      [P, undefined, loser.address],
    ]);
    expect(rib.destination(P)).toMatchObject({ best: undefined, reason: undefined });
    expect(bestOf()).toBeUndefined();
    expect(rib.paths(P)).toHaveLength(1);
    expect(rib.apply(loser, [{ prefixes: [P], attrs: undefined }])).toEqual([]);
    expect(rib.destination(P)).toBeUndefined();
    expect(bestOf()).toBeUndefined();
    expect(rib.paths(P)).toEqual([]);
    expect(rib.destinationCounts()).toEqual({});
  });
});

describe('RIB destination counts', () => {
  it('follow every add, replacement and withdrawal, as a walk of the table counts them', () => {
    const rib = new Rib(65000);
    const sources = [undefined, peer('192.0.2.1', 65001), peer('192.0.2.2', 65002), peer('2001:db8::2', 65003)];
    const prefixes = ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/32', '2001:db8:1::/48', '2001:db8:2::/64'];
    const walked = (): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const d of rib.destinations()) out[d.family] = (out[d.family] ?? 0) + 1;
      return out;
    };
    // A fixed pseudo-random sequence: paths added, replaced (accepted or not), withdrawn, sources dropped.
    let seed = 7;
    const next = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n;
    for (let step = 0; step < 2000; step++) {
      const source = sources[next(sources.length)];
      const prefix = prefixes[next(prefixes.length)]!;
      const family = prefix.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast';
      const op = next(10);
      if (op === 0 && source) rib.removeSource(source.address, next(2) ? undefined : family);
      else if (op < 4) rib.apply(source, [{ prefixes: [prefix], attrs: undefined }]);
      else
        rib.apply(source, [
          {
            prefixes: [prefix],
            attrs: { ...attrs(next(3)), nextHop: family === 'ipv6-unicast' ? '2001:db8::1' : '192.0.2.9' },
            accepted: op !== 4,
          },
        ]);
      expect(rib.destinationCounts()).toEqual(walked());
    }
    for (const s of sources) {
      if (s) rib.removeSource(s.address);
      else for (const p of prefixes) rib.apply(undefined, [{ prefixes: [p], attrs: undefined }]);
    }
    expect(rib.destinationCounts()).toEqual({});
  });
});
