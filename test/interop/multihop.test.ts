/**
 * eBGP TTLs, as GoBGP sets them for kube-router: a session with an eBGP peer is sent with TTL 1
 * (so it cannot form through a router), or with --peer-router-multihop-ttl's value, whoever
 * dials and whether or not it is signed. Four BIRDs behind a router (two hops from us): with TTL 1
 * neither the session we dial nor the one BIRD dials comes up; with TTL 2 both do.
 */
import fs from 'node:fs';
import { Topology, Host } from '../helpers/topology';
import { OurSpeaker } from '../helpers/our-speaker';
import { until, sleep } from '../../lab/wait';
import { Netns, Segment } from '../../lab/netns';
import { BirdDaemon } from '../../lab/peers/bird';
import type { PeerDaemon } from '../../lab/peers/types';

jest.setTimeout(120000);

describe('eBGP TTL (--peer-router-multihop-ttl)', () => {
  let topo: Topology;
  let far: Segment | undefined;
  const farHosts: Netns[] = [];
  let speaker: OurSpeaker | undefined;
  const daemons: PeerDaemon[] = [];
  // .11 we dial with TTL 1, .12 BIRD dials us (TTL 1 on the accepted connection), .21/.22 the same with TTL 2.
  const plan = [
    { n: 11, ttl: 1, weDial: true },
    { n: 12, ttl: 1, weDial: false },
    { n: 21, ttl: 2, weDial: true },
    { n: 22, ttl: 2, weDial: false },
  ];

  beforeAll(async () => {
    topo = await Topology.create('multihop');
    try {
      const us: Host = await topo.host('us', 1);
      const router: Host = await topo.host('router', 254);
      far = await Segment.create(`${topo.tag}-sw2`);
      await far.join(router.ns, 'eth1', ['10.9.0.254/24']);
      await router.ns.sysctl('net.ipv4.ip_forward', '1');
      await us.ns.ip('route', 'add', '10.9.0.0/24', 'via', '10.0.0.254');
      speaker = await OurSpeaker.start(us.ns, us.dir, {
        routerId: us.address,
        asn: 65000,
        connectRetry: 2,
        neighbors: plan.map((p) => ({ address: `10.9.0.${p.n}`, asn: 65100 + p.n, passive: !p.weDial, ttl: p.ttl })),
        advertise: ['10.200.0.0/24'],
      });
      for (const p of plan) {
        const ns = await Netns.create(`${topo.tag}-far${p.n}`);
        farHosts.push(ns);
        await far.join(ns, 'eth0', [`10.9.0.${p.n}/24`]);
        await ns.ip('route', 'add', 'default', 'via', '10.9.0.254');
        const dir = `${topo.dir}/far${p.n}`;
        fs.mkdirSync(dir, { recursive: true });
        daemons.push(
          await BirdDaemon.start({
            ns,
            dir,
            asn: 65100 + p.n,
            address: `10.9.0.${p.n}`,
            address6: `fd09::${p.n}`,
            neighbor: { address: us.address, asn: 65000, passive: p.weDial, multihop: 2 },
          }),
        );
      }
    } catch (e) {
      await cleanup();
      throw e;
    }
  });
  async function cleanup(): Promise<void> {
    for (const d of daemons) await d.stop().catch(() => undefined);
    await speaker?.stop();
    for (const ns of farHosts) await ns.destroy();
    await far?.destroy();
    await topo.destroy();
  }
  afterAll(cleanup);

  it('TTL 2 reaches a peer two hops away whoever dials; TTL 1 does not, dialling or accepting', async () => {
    const state = async (n: number) => (await speaker!.neighbor(`10.9.0.${n}`)).state;
    await until(
      async () => (await state(21)) === 'Established' && (await state(22)) === 'Established',
      60000,
      'TTL 2 sessions Established',
    );
    // Both sides retry every 2 s: several attempts each way have been made by now and after this.
    for (let i = 0; i < 8; i++) {
      // (The accepted connection's handshake completes, the kernel answering before the TTL is set;
      // our OPEN then dies at the router, so BIRD never confirms.)
      expect([await state(11), await state(12)]).not.toContain('Established');
      await sleep(1000);
    }
    expect(await daemons[0]!.established()).toBe(false);
    expect(await daemons[1]!.established()).toBe(false);
    expect(await daemons[2]!.established()).toBe(true);
  });
});
