/**
 * TCP MD5 signatures (RFC 2385) with every daemon: a signed session when we dial and when the
 * daemon dials, and no session at all when the keys differ. The kernel checks the signatures.
 */
import { Topology, Host } from '../helpers/topology';
import { OurSpeaker } from '../helpers/our-speaker';
import { until, sleep } from '../../lab/wait';
import { BirdDaemon } from '../../lab/peers/bird';
import { FrrDaemon } from '../../lab/peers/frr';
import { GobgpDaemon } from '../../lab/peers/gobgp';
import { ExabgpDaemon } from '../../lab/peers/exabgp';
import type { DaemonOptions, PeerDaemon } from '../../lab/peers/types';

jest.setTimeout(120000);

const DAEMONS: [string, (o: DaemonOptions) => Promise<PeerDaemon>][] = [
  ['bird', (o) => BirdDaemon.start(o)],
  ['frr', (o) => FrrDaemon.start(o)],
  ['gobgp', (o) => GobgpDaemon.start(o)],
  ['exabgp', (o) => ExabgpDaemon.start(o)],
];
const KEY = 'kube-router-ts.secret';

describe('TCP MD5 signatures', () => {
  let topo: Topology;
  let us: Host;
  let speaker: OurSpeaker;
  const daemons: PeerDaemon[] = [];
  // Per daemon: .1x we dial, .2x the daemon dials, .3x wrong key.
  const plan = DAEMONS.flatMap(([name, start], i) => [
    { name, start, n: 11 + i, weDial: true, key: KEY },
    { name, start, n: 21 + i, weDial: false, key: KEY },
    { name, start, n: 31 + i, weDial: true, key: 'not.the.same.key' },
  ]);

  beforeAll(async () => {
    topo = await Topology.create('md5');
    try {
      us = await topo.host('us', 1);
      speaker = await OurSpeaker.start(us.ns, us.dir, {
        routerId: us.address,
        asn: 65000,
        connectRetry: 2,
        neighbors: plan.map((p) => ({ address: `10.0.0.${p.n}`, asn: 65100 + p.n, passive: !p.weDial, password: KEY })),
        advertise: ['10.200.0.0/24'],
      });
      for (const p of plan) {
        const h = await topo.host(`${p.name}${p.n}`, p.n);
        daemons.push(
          await p.start({
            ns: h.ns,
            dir: h.dir,
            asn: 65100 + p.n,
            address: h.address,
            address6: h.address6,
            neighbor: { address: us.address, asn: 65000, passive: p.weDial, password: p.key },
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
    await topo.destroy();
  }
  afterAll(cleanup);

  it.each(DAEMONS.map(([name]) => name))('%s: signed sessions come up whoever dials, and routes flow', async (name) => {
    for (const p of plan.filter((x) => x.name === name && x.key === KEY)) {
      await until(async () => (await speaker.neighbor(`10.0.0.${p.n}`)).state === 'Established', 60000, `${name} .${p.n} Established`);
      const d = daemons[plan.indexOf(p)]!;
      await until(async () => (await d.routes('ipv4')).some((r) => r.prefix === '10.200.0.0/24'), 20000, `${name} .${p.n} has our route`);
    }
  });

  it('the segments on the wire carry the MD5 option', async () => {
    const out = await us.ns.exec('timeout', ['3', 'tcpdump', '-i', 'eth0', '-c', '3', '-nv', 'tcp port 179'], { allowFail: true });
    expect(out.stdout).toMatch(/md5/i);
  });

  it('a wrong key never gets a session', async () => {
    await sleep(3000);
    for (const p of plan.filter((x) => x.key !== KEY)) {
      const n = await speaker.neighbor(`10.0.0.${p.n}`);
      expect(n.state).not.toBe('Established');
      expect(n.messages.received.open).toBe(0);
    }
  });
});
