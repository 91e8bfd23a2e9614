/** RFC 4271 9.1.2.2 and tie-breakers, one case per step, each naming the deciding step. */
import { selectBest, BestPathReason } from '../../../bgp/rib/decision';
import type { Path, PathAttributes, PeerRef } from '../../../bgp/rib/path';

const LOCAL_AS = 65000;
const ebgp = (address: string, asn: number, routerId = address): PeerRef => ({ address, asn, routerId, ibgp: false });
const ibgp = (address: string, routerId = address): PeerRef => ({ address, asn: LOCAL_AS, routerId, ibgp: true });

function path(source: PeerRef | undefined, attrs: Partial<PathAttributes> = {}, accepted = true): Path {
  return {
    family: 'ipv4-unicast',
    source,
    accepted,
    sinceSeconds: 0,
    attrs: { origin: 0, asPath: source && !source.ibgp ? [{ type: 2, asns: [source.asn] }] : [], nextHop: source?.address ?? '', ...attrs },
  };
}
const seq = (...asns: number[]) => [{ type: 2 as const, asns }];

describe('best path selection', () => {
  const cases: [string, Path[], number, BestPathReason][] = [
    ['a single path', [path(ebgp('1.1.1.1', 1))], 0, BestPathReason.OnlyPath],
    ['our own route over a learned one', [path(ibgp('1.1.1.1'), { localPref: 500 }), path(undefined)], 1, BestPathReason.LocalOrigin],
    [
      'higher LOCAL_PREF',
      [path(ibgp('1.1.1.1'), { localPref: 100 }), path(ibgp('2.2.2.2'), { localPref: 200 })],
      1,
      BestPathReason.LocalPref,
    ],
    [
      'LOCAL_PREF from eBGP is ignored (100)',
      [path(ebgp('1.1.1.1', 1), { localPref: 900, asPath: seq(1, 5) }), path(ibgp('2.2.2.2'), { localPref: 150, asPath: seq(7, 8, 9) })],
      1,
      BestPathReason.LocalPref,
    ],
    [
      'shorter AS path',
      [path(ebgp('1.1.1.1', 1), { asPath: seq(1, 2, 3) }), path(ebgp('2.2.2.2', 2), { asPath: seq(2, 3) })],
      1,
      BestPathReason.AsPathLength,
    ],
    [
      'an AS_SET counts as one',
      [
        path(ebgp('1.1.1.1', 1), {
          asPath: [
            { type: 2, asns: [1] },
            { type: 1, asns: [4, 5, 6] },
          ],
        }),
        path(ebgp('2.2.2.2', 2), { asPath: seq(2, 3, 4) }),
      ],
      0,
      BestPathReason.AsPathLength,
    ],
    ['lower ORIGIN', [path(ebgp('1.1.1.1', 1), { origin: 2 }), path(ebgp('2.2.2.2', 2), { origin: 0 })], 1, BestPathReason.Origin],
    ['lower MED from the same AS', [path(ebgp('1.1.1.1', 1), { med: 20 }), path(ebgp('2.2.2.2', 1), { med: 10 })], 1, BestPathReason.Med],
    ['missing MED counts as 0', [path(ebgp('1.1.1.1', 1), { med: 20 }), path(ebgp('2.2.2.2', 1))], 1, BestPathReason.Med],
    [
      'eBGP over iBGP',
      [path(ibgp('1.1.1.1'), { asPath: seq(7) }), path(ebgp('2.2.2.2', 7), { asPath: seq(7) })],
      1,
      BestPathReason.EbgpOverIbgp,
    ],
    ['lower router ID', [path(ebgp('1.1.1.1', 1, '9.9.9.9')), path(ebgp('2.2.2.2', 2, '3.3.3.3'))], 1, BestPathReason.RouterId],
    [
      'ORIGINATOR_ID stands in for the router ID',
      [path(ibgp('1.1.1.1', '1.1.1.1'), { originatorId: '8.8.8.8' }), path(ibgp('2.2.2.2', '5.5.5.5'))],
      1,
      BestPathReason.RouterId,
    ],
    [
      'shorter CLUSTER_LIST',
      [
        path(ibgp('1.1.1.1', '4.4.4.4'), { originatorId: '7.7.7.7', clusterList: ['1.0.0.1', '1.0.0.2'] }),
        path(ibgp('2.2.2.2', '4.4.4.4'), { originatorId: '7.7.7.7', clusterList: ['1.0.0.1'] }),
      ],
      1,
      BestPathReason.ClusterListLength,
    ],
    ['lower peer address', [path(ebgp('10.0.0.9', 1, '4.4.4.4')), path(ebgp('10.0.0.3', 2, '4.4.4.4'))], 1, BestPathReason.PeerAddress],
  ];
  it.each(cases)('%s', (_name, paths, winner, reason) => {
    const s = selectBest(paths, LOCAL_AS);
    expect(s.best).toBe(paths[winner]);
    expect(s.reason).toBe(reason);
  });

  it('MED is not compared between routes from different ASes', () => {
    // A (AS 1, MED 50) and B (AS 2, MED 10) tie until router ID; MED must not pick B.
    const a = path(ebgp('1.1.1.1', 1, '1.1.1.1'), { med: 50 });
    const b = path(ebgp('2.2.2.2', 2, '2.2.2.2'), { med: 10 });
    expect(selectBest([a, b], LOCAL_AS)).toEqual({ best: a, reason: BestPathReason.RouterId });
  });

  it('MED elimination is per neighbouring AS, not pairwise (order does not matter)', () => {
    const a1 = path(ebgp('1.1.1.1', 1, '5.5.5.5'), { med: 10 });
    const a2 = path(ebgp('1.1.1.2', 1, '1.0.0.1'), { med: 20 });
    const b = path(ebgp('2.2.2.2', 2, '3.3.3.3'), { med: 0 });
    for (const order of [
      [a1, a2, b],
      [b, a2, a1],
      [a2, b, a1],
    ])
      expect(selectBest(order, LOCAL_AS).best).toBe(b);
  });

  it('rejected paths are never best', () => {
    expect(selectBest([path(ebgp('1.1.1.1', 1), {}, false)], LOCAL_AS)).toEqual({ best: undefined, reason: undefined });
  });
});
