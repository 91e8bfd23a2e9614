/**
 * Graceful restart, receiving side (RFC 4724 4.2), against BIRD 2. A peer that dies without a
 * NOTIFICATION keeps its routes in our RIB, marked stale; when it is back, End-of-RIB removes
 * what it did not announce again; if it never comes back, its restart time ends the wait. A
 * session closed with a NOTIFICATION is not a graceful restart: routes go at once.
 */
import { Topology, Host } from '../helpers/topology';
import { OurSpeaker } from '../helpers/our-speaker';
import { until, sleep } from '../../lab/wait';
import { BirdDaemon } from '../../lab/peers/bird';

jest.setTimeout(120000);
const RESTART_TIME = 8;

/** The time (ms) of the last JSON log line whose text contains `what`; fails if there is none. */
function lastLogTime(log: string, what: string): number {
  const line = log
    .split('\n')
    .filter((l) => l.includes(what))
    .pop();
  if (!line) throw new Error(`no log line with "${what}"`);
  return Date.parse((JSON.parse(line) as { time: string }).time);
}

describe('graceful restart with BIRD', () => {
  let topo: Topology;
  let us: Host;
  let speaker: OurSpeaker;
  let bird: BirdDaemon;
  const has = async (prefix: string): Promise<boolean> =>
    (await speaker.rib()).some((p) => p.prefix === prefix && p.source === '10.0.0.11');

  beforeAll(async () => {
    topo = await Topology.create('gr');
    us = await topo.host('us', 1);
    speaker = await OurSpeaker.start(us.ns, us.dir, {
      routerId: us.address,
      asn: 65000,
      connectRetry: 1,
      gracefulRestart: { restartTime: 30 },
      neighbors: [{ address: '10.0.0.11', asn: 65001, families: ['ipv4-unicast', 'ipv6-unicast'] }],
    });
    const h = await topo.host('bird', 11);
    bird = await BirdDaemon.start({
      ns: h.ns,
      dir: h.dir,
      asn: 65001,
      address: h.address,
      address6: h.address6,
      gracefulRestart: RESTART_TIME,
      neighbor: { address: us.address, asn: 65000, passive: true },
      routes: ['10.101.0.0/24', '10.101.1.0/24', 'fd00:101::/64'],
    });
    await until(async () => (await has('10.101.0.0/24')) && (await has('fd00:101::/64')), 30000, 'routes from BIRD');
  });
  afterAll(async () => {
    await bird?.stop();
    await speaker?.stop();
    await topo.destroy();
  });

  it('keeps the routes of a crashed peer, then End-of-RIB sweeps what it did not re-announce', async () => {
    const n = await speaker.neighbor('10.0.0.11');
    expect(n.capabilities).toContain('gracefulRestart');
    await bird.crash();
    await until(async () => (await speaker.neighbor('10.0.0.11')).state !== 'Established', 10000, 'session down');
    expect(await has('10.101.0.0/24')).toBe(true);
    expect(await has('fd00:101::/64')).toBe(true);
    expect(speaker.log()).toMatch(/graceful restart: keeping routes as stale/);

    await bird.restart(['10.101.1.0/24', 'fd00:101::/64'], true);
    await until(async () => (await speaker.neighbor('10.0.0.11')).state === 'Established', 30000, 'session back');
    await until(async () => !(await has('10.101.0.0/24')), 20000, 'the route BIRD dropped is swept at End-of-RIB');
    expect(await has('10.101.1.0/24')).toBe(true);
    expect(await has('fd00:101::/64')).toBe(true);
  });

  it('drops stale routes when the peer does not return within its restart time', async () => {
    await bird.crash();
    await until(async () => (await speaker.neighbor('10.0.0.11')).state !== 'Established', 10000, 'session down');
    expect(await has('10.101.1.0/24')).toBe(true);
    await until(async () => !(await has('10.101.1.0/24')), (RESTART_TIME + 10) * 1000, 'stale routes gone after the restart time');
    // Timed by the speaker's own log, not by this test's polling, which a slow machine delays.
    const kept = lastLogTime(speaker.log(), 'graceful restart: keeping routes as stale');
    const swept = lastLogTime(speaker.log(), 'restart time expired');
    const waited = (swept - kept) / 1000;
    expect(waited).toBeGreaterThanOrEqual(RESTART_TIME - 0.1);
    expect(waited).toBeLessThan(RESTART_TIME + 3);
  });

  it('a session ended with a NOTIFICATION is no graceful restart: routes go at once', async () => {
    await bird.restart(['10.101.1.0/24'], false);
    await until(async () => has('10.101.1.0/24'), 30000, 'route back');
    await bird.disable();
    await until(async () => !(await has('10.101.1.0/24')), 3000, 'route removed right away');
    await sleep(100);
    expect((await speaker.neighbor('10.0.0.11')).lastError).toMatch(/Cease/);
  });
});
