/**
 * Graceful restart (RFC 4724) both ways with FRR and GoBGP (BIRD: graceful-restart.test.ts and
 * the lab's ToR). Each daemon advertises graceful restart and peers with our speaker:
 * - we restart: our speaker stops without a NOTIFICATION, the daemon keeps our routes (stale)
 *   while we are away, we come back with R=1, and after our End-of-RIB it drops the one route we
 *   no longer announce;
 * - the daemon restarts (killed, then started again announcing one route fewer, forwarding state
 *   preserved): we keep its routes stale meanwhile and sweep what it did not announce again at
 *   its End-of-RIB.
 */
import { Topology, Host } from '../helpers/topology';
import { OurSpeaker } from '../helpers/our-speaker';
import { until, sleep } from '../../lab/wait';
import { FrrDaemon } from '../../lab/peers/frr';
import { GobgpDaemon } from '../../lab/peers/gobgp';
import type { DaemonOptions } from '../../lab/peers/types';

jest.setTimeout(180000);
const RESTART_TIME = 60;
const OURS = ['10.200.0.0/24', '10.200.1.0/24'];
const THEIRS = ['10.101.0.0/24', '10.101.1.0/24'];

type Daemon = FrrDaemon | GobgpDaemon;
const daemons: [string, (o: DaemonOptions) => Promise<Daemon>, (d: Daemon) => Promise<string[]>][] = [
  ['FRR', (o) => FrrDaemon.start(o), async (d) => (await d.routes('ipv4')).map((r) => r.prefix)],
  ['GoBGP', (o) => GobgpDaemon.start(o), (d) => (d as GobgpDaemon).held('ipv4')],
];

describe.each(daemons)('graceful restart both ways with %s', (name, start, held) => {
  let topo: Topology;
  let us: Host;
  let peer: Host;
  let speaker: OurSpeaker;
  let daemon: Daemon;
  const ourConfig = (advertise: string[], restarting: boolean): Record<string, unknown> => ({
    routerId: us.address,
    asn: 65000,
    connectRetry: 1,
    gracefulRestart: { restartTime: RESTART_TIME, restarting },
    // Both families: GoBGP, as helper, waits for End-of-RIB in every family it has configured.
    neighbors: [{ address: peer.address, asn: 65001, families: ['ipv4-unicast', 'ipv6-unicast'] }],
    advertise,
  });
  const weHave = async (prefix: string): Promise<boolean> =>
    (await speaker.rib()).some((p) => p.prefix === prefix && p.source === peer.address);
  const established = async (): Promise<boolean> => (await speaker.neighbor(peer.address)).state === 'Established';

  beforeAll(async () => {
    topo = await Topology.create(`gr2${name.slice(0, 2).toLowerCase()}`);
    us = await topo.host('us', 1);
    peer = await topo.host('peer', 11);
    speaker = await OurSpeaker.start(us.ns, us.dir, ourConfig(OURS, false));
    daemon = await start({
      ns: peer.ns,
      dir: peer.dir,
      asn: 65001,
      address: peer.address,
      address6: peer.address6,
      gracefulRestart: RESTART_TIME,
      neighbor: { address: us.address, asn: 65000, passive: true },
      routes: THEIRS,
    });
    await until(async () => (await held(daemon)).length === 2 && (await weHave(THEIRS[1]!)), 60000, `routes both ways with ${name}`);
    expect((await speaker.neighbor(peer.address)).capabilities).toContain('gracefulRestart');
  });
  afterAll(async () => {
    await daemon?.stop();
    await speaker?.stop();
    await topo?.destroy();
  });

  it(`we restart: ${name} keeps our routes while we are away, then drops what we no longer announce`, async () => {
    await speaker.stop();
    expect(speaker.log()).toMatch(/stopping for a graceful restart/);
    expect(speaker.log()).not.toMatch(/sent NOTIFICATION/);
    await until(async () => !(await daemon.established()), 15000, `${name} sees the session down`);
    for (let i = 0; i < 3; i++) {
      expect((await held(daemon)).sort()).toEqual(OURS);
      await sleep(1000);
    }
    speaker = await OurSpeaker.start(us.ns, us.dir, ourConfig([OURS[0]!], true));
    await until(() => established(), 30000, 'session back');
    await until(async () => (await held(daemon)).join() === OURS[0], 30000, `${name} swept the route we did not announce again`);
  });

  it(`${name} restarts: we keep its routes stale, then sweep what it did not announce again`, async () => {
    // After our restart the daemon sends its routes again (FRR's eBGP advertisement interval may delay them).
    await until(async () => (await weHave(THEIRS[0]!)) && (await weHave(THEIRS[1]!)), 60000, `${name}'s routes after our restart`);
    await daemon.crash();
    await until(async () => !(await established()), 15000, 'session down');
    expect(await weHave(THEIRS[0]!)).toBe(true);
    expect(await weHave(THEIRS[1]!)).toBe(true);
    expect(speaker.log()).toMatch(/graceful restart: keeping routes as stale/);
    await daemon.restart([THEIRS[1]!]);
    await until(() => established(), 60000, `${name} back`);
    // Kept throughout (stale, then announced again), never withdrawn: checked while waiting for the sweep.
    await until(
      async () => {
        expect(await weHave(THEIRS[1]!)).toBe(true);
        return !(await weHave(THEIRS[0]!));
      },
      30000,
      `the route ${name} dropped is swept at its End-of-RIB`,
    );
    expect(speaker.log()).toMatch(/"why":"End-of-RIB","msg":"withdrawing stale routes"/);
  });
});
