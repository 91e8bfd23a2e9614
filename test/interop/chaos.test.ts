/**
 * Chaos at the session level, against our speaker as a real process: a hostile neighbour (a
 * script on a configured neighbour's address) storms it with connections, resets them in every
 * FSM state, collides with its own Established session, holds half-open sockets, sends an UPDATE
 * that no longer fits once re-encoded for another peer, and floods past its prefix limit. The
 * process must live, and its sessions with BIRD and FRR must stay Established throughout, never
 * flapping, still carrying routes.
 */
import { Topology, Host } from '../helpers/topology';
import { OurSpeaker } from '../helpers/our-speaker';
import { netnsCall } from '../helpers/in-netns';
import type { HostileAttack } from '../../lab/netns-calls';
import { until } from '../../lab/wait';
import { BirdDaemon } from '../../lab/peers/bird';
import { FrrDaemon } from '../../lab/peers/frr';
import type { PeerDaemon } from '../../lab/peers/types';
import type { HostileTarget, ResetPoint } from '../../lab/peers/hostile';
import { MessageType } from '../../bgp/codec';
import { ipv4Update } from '../helpers/updates';

jest.setTimeout(180000);

const HOSTILE_AS = 65009;
const LIMIT = 50;
/**
 * The hold-down after the prefix limit, in seconds: long beside the few seconds the test needs to
 * start a second attack process in the namespace on a slow machine (3 s was once too short).
 */
const LIMIT_RESTART = 60;

/** An UPDATE from the hostile AS with an AS path of `length` 4-octet ASNs, for `prefixes`, as hex. */
const update = (prefixes: string[], length = 2): string =>
  ipv4Update(prefixes, { asn: HOSTILE_AS, nextHop: '10.0.0.9', pathLength: length }).toString('hex');

describe('chaos: a hostile neighbour beside well-behaved ones', () => {
  let topo: Topology;
  let us: Host;
  let hostile: Host;
  let speaker: OurSpeaker;
  const daemons: PeerDaemon[] = [];
  let target: HostileTarget;
  const steps: string[] = [];

  /** Runs one function of the hostile driver in the hostile's namespace. */
  type Attacks = typeof import('../../lab/peers/hostile');
  type Rest<F> = F extends (t: never, ...rest: infer R) => unknown ? R : never;
  const attack = <F extends HostileAttack>(fn: F, ...args: Rest<Attacks[F]>): Promise<Awaited<ReturnType<Attacks[F]>>> =>
    netnsCall(hostile.ns, 'hostile', fn, [target, ...args]) as Promise<Awaited<ReturnType<Attacks[F]>>>;

  /** The process is alive, and BIRD and FRR are Established on both sides and never flapped. */
  async function wellBehavedUntouched(after: string): Promise<void> {
    expect(speaker.alive).toBe(true);
    const ns = await speaker.neighbors();
    for (const address of ['10.0.0.2', '10.0.0.3']) {
      const n = ns.find((x) => x.address === address)!;
      expect({ after, address, state: n.state, flaps: n.flaps }).toEqual({ after, address, state: 'Established', flaps: 0 });
    }
    for (const d of daemons) expect(await d.established()).toBe(true);
    steps.push(after);
  }

  beforeAll(async () => {
    topo = await Topology.create('chaos');
    try {
      us = await topo.host('us', 1);
      hostile = await topo.host('hostile', 9);
      speaker = await OurSpeaker.start(us.ns, us.dir, {
        routerId: us.address,
        asn: 65000,
        listen: { port: 179 },
        connectRetry: 2,
        neighbors: [
          { address: '10.0.0.2', asn: 65002, families: ['ipv4-unicast'] },
          { address: '10.0.0.3', asn: 65003, families: ['ipv4-unicast'] },
          {
            address: '10.0.0.9',
            asn: HOSTILE_AS,
            passive: true,
            families: ['ipv4-unicast'],
            maxPrefixes: LIMIT,
            maxPrefixesRestart: LIMIT_RESTART,
          },
        ],
        advertise: ['10.200.0.0/24'],
      });
      for (const [kind, n, asn] of [
        ['bird', 2, 65002],
        ['frr', 3, 65003],
      ] as const) {
        const host = await topo.host(kind, n);
        const o = {
          ns: host.ns,
          dir: host.dir,
          asn,
          address: host.address,
          address6: host.address6,
          neighbor: { address: us.address, asn: 65000, passive: true },
          routes: [`10.${100 + n}.0.0/24`],
        };
        daemons.push(kind === 'bird' ? await BirdDaemon.start(o) : await FrrDaemon.start(o));
      }
      target = { host: us.address, port: 179, asn: HOSTILE_AS, routerId: '10.0.0.9' };
      await until(
        async () => (await speaker.neighbors()).filter((n) => n.state === 'Established').length === 2,
        60000,
        'BIRD and FRR Established',
      );
    } catch (e) {
      await cleanup();
      throw e;
    }
  });

  async function cleanup(): Promise<void> {
    for (const d of daemons) await d.stop().catch(() => undefined);
    await speaker?.stop().catch(() => undefined);
    await topo.destroy();
  }
  afterAll(async () => {
    process.stdout.write(`chaos: survived ${steps.join('; ')}\n`);
    await cleanup();
  });

  it('a storm of 200 connections from the neighbour address, each reset at once', async () => {
    const connected = await attack('resetStorm', 200);
    expect(connected).toBe(200);
    await wellBehavedUntouched('200 resets');
  });

  it.each<ResetPoint>(['connected', 'openSent', 'openConfirm', 'established', 'midMessage'])(
    'a connection reset in state %s',
    async (point) => {
      const seen = await attack('resetAt', point);
      if (point !== 'connected') expect(seen).toContain(MessageType.Open);
      await until(async () => (await speaker.neighbor('10.0.0.9')).state !== 'Established', 5000, 'the reset to be noticed');
      await wellBehavedUntouched(`RST in ${point}`);
    },
  );

  it('a second connection colliding with its own Established session is refused (Cease 7), the first kept', async () => {
    const r = await attack('collide');
    expect(r.firstSurvived).toBe(true);
    expect(r.second.filter((m) => m.type === MessageType.Notification)).toEqual([{ type: MessageType.Notification, code: 6, subcode: 7 }]);
    await wellBehavedUntouched('a collision');
  });

  it('half-open connections: two get an FSM, the rest are closed at once; nothing else notices', async () => {
    const closedEarly = await attack('halfOpen', 5, 1500);
    expect(closedEarly).toBe(3);
    await wellBehavedUntouched('5 half-open sockets');
  });

  it('an UPDATE too long to re-encode toward BIRD is withheld from it; the normal one next to it arrives', async () => {
    const big = update(['10.66.0.0/24'], 1011);
    expect(big.length / 2).toBeGreaterThan(4090);
    const bird = daemons[0]!;
    // The hostile session holds its routes for 6 s; BIRD is checked meanwhile.
    const session = attack('sendAll', [big, update(['10.67.0.0/24'])], 6000);
    await until(async () => (await bird.routes('ipv4')).some((x) => x.prefix === '10.67.0.0/24'), 6000, 'the normal route at BIRD');
    expect((await bird.routes('ipv4')).some((x) => x.prefix === '10.66.0.0/24')).toBe(false);
    expect((await speaker.rib()).some((p) => p.prefix === '10.66.0.0/24' && p.best)).toBe(true);
    expect((await session).closed).toBe(false);
    expect(speaker.log()).toMatch(/route not sent to this peer: its path attributes leave no room for it in a 4096-octet UPDATE/);
    await wellBehavedUntouched('an oversize re-encode');
  });

  it(`${LIMIT + 10} prefixes over a limit of ${LIMIT}: Cease/1, the routes gone, refused for the restart interval`, async () => {
    const prefixes = Array.from({ length: LIMIT + 10 }, (_, i) => `10.80.${i}.0/24`);
    const r = await attack('sendAll', [update(prefixes)], 1000);
    expect(r.closed).toBe(true);
    expect(r.received.filter((m) => m.type === MessageType.Notification)).toEqual([
      { type: MessageType.Notification, code: 6, subcode: 1 },
    ]);
    expect((await speaker.rib()).some((p) => p.prefix.startsWith('10.80.'))).toBe(false);
    // Within the restart interval a new connection is closed without an OPEN.
    const seen = await attack('resetAt', 'openSent');
    expect(seen).not.toContain(MessageType.Open);
    expect(speaker.log()).toMatch(new RegExp(`over its limit of ${LIMIT}: closing the session for ${LIMIT_RESTART} s`));
    await wellBehavedUntouched('a max-prefix flood');
  });

  it('the process never logged a bug and never died', async () => {
    expect(speaker.alive).toBe(true);
    expect(speaker.log()).not.toMatch(/"level":(50|60)|BUG|uncaught|unhandled/);
    // Routes between the well-behaved peers still flow both ways through us.
    await until(async () => (await daemons[0]!.routes('ipv4')).some((x) => x.prefix === '10.103.0.0/24'), 10000, 'FRR route at BIRD');
    await until(async () => (await daemons[1]!.routes('ipv4')).some((x) => x.prefix === '10.102.0.0/24'), 10000, 'BIRD route at FRR');
  });
});
