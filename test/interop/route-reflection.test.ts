/**
 * Route reflection (RFC 4456) with BIRD and FRR, both roles, all in AS 65000 on one segment:
 * - our speaker reflects (cluster 1.1.1.1) between two clients of the daemon's kind: each client
 *   learns the other's route, next hop unchanged (the other client), and accepts it;
 * - the daemon reflects (cluster 2.2.2.2) between two instances of our speaker: each learns the
 *   other's route with ORIGINATOR_ID (the other's router ID) and CLUSTER_LIST [2.2.2.2].
 */
import { Topology, Host } from '../helpers/topology';
import { OurSpeaker } from '../helpers/our-speaker';
import { until } from '../../lab/wait';
import { BirdDaemon } from '../../lab/peers/bird';
import { FrrDaemon } from '../../lab/peers/frr';
import type { DaemonOptions, PeerDaemon } from '../../lab/peers/types';

jest.setTimeout(180000);
const AS = 65000;

const kinds: [string, (o: DaemonOptions) => Promise<PeerDaemon>][] = [
  ['BIRD', (o) => BirdDaemon.start(o)],
  ['FRR', (o) => FrrDaemon.start(o)],
];

describe.each(kinds)('route reflection with %s', (name, start) => {
  let topo: Topology;
  const speakers: OurSpeaker[] = [];
  const daemons: PeerDaemon[] = [];
  const host = async (role: string, n: number): Promise<Host> => topo.host(role, n);
  beforeAll(async () => {
    topo = await Topology.create(`rr${name.slice(0, 2).toLowerCase()}`);
  });
  afterAll(async () => {
    for (const d of daemons) await d.stop();
    for (const s of speakers) await s.stop();
    await topo?.destroy();
  });

  it(`our speaker reflects between two ${name} clients`, async () => {
    const us = await host('us', 1);
    const [c1, c2] = [await host('c1', 11), await host('c2', 12)];
    speakers.push(
      await OurSpeaker.start(us.ns, us.dir, {
        routerId: us.address,
        asn: AS,
        connectRetry: 1,
        clusterId: '1.1.1.1',
        neighbors: [c1, c2].map((c) => ({ address: c.address, asn: AS, routeReflectorClient: true })),
      }),
    );
    const clients = [];
    for (const [c, prefix] of [
      [c1, '10.111.0.0/24'],
      [c2, '10.112.0.0/24'],
    ] as const) {
      const d = await start({
        ns: c.ns,
        dir: c.dir,
        asn: AS,
        address: c.address,
        address6: c.address6,
        neighbor: { address: us.address, asn: AS },
        routes: [prefix],
      });
      daemons.push(d);
      clients.push(d);
    }
    const [d1, d2] = clients as [PeerDaemon, PeerDaemon];
    await until(
      async () => (await d1.routes('ipv4')).some((r) => r.prefix === '10.112.0.0/24'),
      60000,
      `${name} client 1 learns client 2's route`,
    );
    await until(
      async () => (await d2.routes('ipv4')).some((r) => r.prefix === '10.111.0.0/24'),
      60000,
      `${name} client 2 learns client 1's route`,
    );
    expect((await d1.routes('ipv4')).find((r) => r.prefix === '10.112.0.0/24')!.nextHop).toBe(c2.address);
    expect((await d2.routes('ipv4')).find((r) => r.prefix === '10.111.0.0/24')!.nextHop).toBe(c1.address);
  });

  it(`${name} reflects between two of our speakers`, async () => {
    const r = await host('rr', 20);
    const [a, b] = [await host('a', 21), await host('b', 22)];
    daemons.push(
      await start({
        ns: r.ns,
        dir: r.dir,
        asn: AS,
        address: r.address,
        address6: r.address6,
        neighbor: { address: a.address, asn: AS, passive: true },
        routeReflector: { clusterId: '2.2.2.2', extraClients: [b.address] },
      }),
    );
    for (const [h, prefix] of [
      [a, '10.121.0.0/24'],
      [b, '10.122.0.0/24'],
    ] as const) {
      speakers.push(
        await OurSpeaker.start(h.ns, h.dir, {
          routerId: h.address,
          asn: AS,
          connectRetry: 1,
          neighbors: [{ address: r.address, asn: AS }],
          advertise: [prefix],
          adminSocket: `${h.dir}/admin.sock`,
        }),
      );
    }
    const [sa, sb] = speakers.slice(-2) as [OurSpeaker, OurSpeaker];
    const learned = async (s: OurSpeaker, prefix: string) => (await s.rib()).find((p) => p.prefix === prefix && p.source === r.address);
    await until(async () => !!(await learned(sa, '10.122.0.0/24')) && !!(await learned(sb, '10.121.0.0/24')), 60000, 'routes reflected');
    const atA = (await learned(sa, '10.122.0.0/24'))!;
    expect([atA.nextHop, atA.originatorId, atA.clusterList]).toEqual([b.address, b.address, ['2.2.2.2']]);
    expect(atA.best).toBe(true);
    const atB = (await learned(sb, '10.121.0.0/24'))!;
    expect([atB.nextHop, atB.originatorId, atB.clusterList]).toEqual([a.address, a.address, ['2.2.2.2']]);
  });
});
