/**
 * BFD (RFC 5880/5881/5882) between our speaker and BIRD 2, both with `bfd` on the eBGP session,
 * 200 ms intervals and a multiplier of 3, hold time 90 s. BIRD checks what RFC 5881 asks of our
 * packets (TTL 255, source port 49152-65535) before it brings its side Up. When the path dies
 * (BIRD's namespace drops everything from and to us) our side ends the BGP session within the
 * BFD detection time instead of waiting 90 s for the hold timer, with Cease/BFD Down (RFC 9384),
 * and withdraws BIRD's route; when the path is back both come up again.
 */
import { Topology, Host } from '../helpers/topology';
import { OurSpeaker } from '../helpers/our-speaker';
import { until } from '../../lab/wait';
import { BirdDaemon } from '../../lab/peers/bird';

jest.setTimeout(120000);

describe('BFD with BIRD', () => {
  let topo: Topology;
  let us: Host;
  let peer: Host;
  let speaker: OurSpeaker | undefined;
  let bird: BirdDaemon | undefined;

  beforeAll(async () => {
    topo = await Topology.create('bfd');
    try {
      us = await topo.host('us', 1);
      peer = await topo.host('bird', 2);
      speaker = await OurSpeaker.start(us.ns, us.dir, {
        routerId: us.address,
        asn: 65000,
        connectRetry: 2,
        holdTime: 90,
        neighbors: [{ address: peer.address, asn: 65002, bfd: { desiredMinTxMs: 200, requiredMinRxMs: 200, detectMultiplier: 3 } }],
        advertise: ['10.200.0.0/24'],
      });
      bird = await BirdDaemon.start({
        ns: peer.ns,
        dir: peer.dir,
        asn: 65002,
        address: peer.address,
        address6: peer.address6,
        neighbor: { address: us.address, asn: 65000, holdTime: 90 },
        routes: ['10.77.0.0/24'],
        bfd: { intervalMs: 200, multiplier: 3 },
      });
    } catch (e) {
      await cleanup();
      throw e;
    }
  });
  async function cleanup(): Promise<void> {
    await bird?.stop().catch(() => undefined);
    await speaker?.stop();
    await topo.destroy();
  }
  afterAll(cleanup);

  const hasRoute = async (): Promise<boolean> => (await speaker!.rib()).some((p) => p.prefix === '10.77.0.0/24');
  const block = (op: '-I' | '-D') =>
    Promise.all([
      peer.ns.exec('iptables', [op, 'INPUT', '-s', us.address, '-j', 'DROP']),
      peer.ns.exec('iptables', [op, 'OUTPUT', '-d', us.address, '-j', 'DROP']),
    ]);

  it('comes Up on both sides, at the configured intervals', async () => {
    await until(async () => (await speaker!.neighbor(peer.address)).state === 'Established', 30000, 'BGP Established');
    await until(async () => (await speaker!.neighbor(peer.address)).bfd?.state === 'Up', 15000, 'our BFD session Up');
    await until(async () => /\bUp\b/.test(await bird!.bfdSessions()), 15000, "BIRD's BFD session Up");
    const bfd = (await speaker!.neighbor(peer.address)).bfd!;
    expect(bfd).toMatchObject({ remoteState: 'Up', txIntervalMs: 200, detectTimeMs: 600 });
    await until(hasRoute, 15000, "BIRD's route");
  });

  it('ends the BGP session within the detection time when the path dies, and recovers with it', async () => {
    await block('-I');
    try {
      const t0 = Date.now();
      await until(async () => (await speaker!.neighbor(peer.address)).state !== 'Established', 10000, 'BGP session ended by BFD');
      const tookMs = Date.now() - t0;
      const n = await speaker!.neighbor(peer.address);
      process.stdout.write(`BFD: BGP session ended ${tookMs} ms after the path died (detection time 600 ms, hold time 90 s)\n`);
      expect(tookMs).toBeLessThan(5000);
      expect(n.bfd).toMatchObject({ state: 'Down', diag: 'control detection time expired', downs: 1 });
      expect(n.notifications.sent['6/10']).toBe(1);
      expect(await hasRoute()).toBe(false);
      expect(speaker!.alive).toBe(true);
    } finally {
      await block('-D');
    }
    await until(async () => (await speaker!.neighbor(peer.address)).bfd?.state === 'Up', 20000, 'BFD Up again');
    await until(async () => (await speaker!.neighbor(peer.address)).state === 'Established', 30000, 'BGP Established again');
    await until(hasRoute, 15000, "BIRD's route again");
  });
});
