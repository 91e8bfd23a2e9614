/**
 * The interop scenario every real daemon goes through. Our speaker (AS 65000, 10.0.0.1) peers
 * with five instances of the daemon on one segment:
 *   A  eBGP AS 65001       daemon passive, we dial        (also: goes silent -> hold timer)
 *   B  eBGP AS 65002       daemon dials, we are passive
 *   C  iBGP AS 65000       daemon passive, we dial
 *   D  iBGP AS 65000       daemon dials, we are passive
 *   E  eBGP AS 4200000001  both dial at once: collision; 4-octet AS
 * Each originates 10.10N.0.0/24 and fd00:10N::/64; we originate 10.200.0.0/24 and fd00:200::/64.
 */
import { Topology, Host } from '../helpers/topology';
import { OurSpeaker } from '../helpers/our-speaker';
import { until } from '../../lab/wait';
import type { DaemonOptions, DaemonRoute, PeerDaemon } from '../../lab/peers/types';
import type { PathView } from '../../bgp/admin/views';

type Start = (o: DaemonOptions) => Promise<PeerDaemon>;

interface Instance {
  name: 'A' | 'B' | 'C' | 'D' | 'E';
  asn: number;
  daemonPassive: boolean;
  weArePassive: boolean;
  n: number;
}

const LOCAL_AS = 65000;
const INSTANCES: Instance[] = [
  { name: 'A', asn: 65001, daemonPassive: true, weArePassive: false, n: 11 },
  { name: 'B', asn: 65002, daemonPassive: false, weArePassive: true, n: 12 },
  { name: 'C', asn: LOCAL_AS, daemonPassive: true, weArePassive: false, n: 13 },
  { name: 'D', asn: LOCAL_AS, daemonPassive: false, weArePassive: true, n: 14 },
  { name: 'E', asn: 4200000001, daemonPassive: false, weArePassive: false, n: 15 },
];
const v4 = (i: Instance): string => `10.${100 + i.n - 10}.0.0/24`;
const v6 = (i: Instance): string => `fd00:${100 + i.n - 10}::/64`;
const OURS_V4 = '10.200.0.0/24';
const OURS_V6 = 'fd00:200::/64';
const A_HOLD = 6;

export function interopSuite(label: string, start: Start): void {
  jest.setTimeout(180000);
  let topo: Topology;
  let us: Host;
  let speaker: OurSpeaker;
  const daemons = new Map<string, { inst: Instance; host: Host; d: PeerDaemon }>();
  const get = (name: Instance['name']) => daemons.get(name)!;
  const find = (routes: DaemonRoute[], prefix: string) => routes.find((r) => r.prefix === prefix);
  /** Established TCP connections between us and `address`, from the kernel (ss). */
  const connectionsTo = async (address: string): Promise<{ localPort: number; remotePort: number }[]> => {
    const ss = (await us.ns.exec('ss', ['-Htn', 'state', 'established'])).stdout;
    const out: { localPort: number; remotePort: number }[] = [];
    for (const line of ss.split('\n')) {
      // "0 0 [::ffff:10.0.0.1]:179 [::ffff:10.0.0.12]:40123" or "0 0 10.0.0.1:41234 10.0.0.11:179"
      const cols = line.trim().split(/\s+/);
      const [local, remote] = cols.slice(-2);
      const m = remote ? /^\[?(?:::ffff:)?([\d.]+)\]?:(\d+)$/.exec(remote) : null;
      const l = local ? /:(\d+)$/.exec(local) : null;
      if (m && l && m[1] === address) out.push({ localPort: Number(l[1]), remotePort: Number(m[2]) });
    }
    return out;
  };
  const ribHas = async (prefix: string, from: string): Promise<PathView | undefined> =>
    (await speaker.rib()).find((p) => p.prefix === prefix && p.source === from);

  beforeAll(async () => {
    topo = await Topology.create(label);
    try {
      us = await topo.host('us', 1);
      speaker = await OurSpeaker.start(us.ns, us.dir, {
        routerId: us.address,
        asn: LOCAL_AS,
        listen: { port: 179 },
        connectRetry: 2,
        hostname: 'us',
        // FRR 8.4 sends End-of-RIB (and answers ROUTE-REFRESH) only to peers that advertise GR.
        gracefulRestart: { restartTime: 30 },
        neighbors: INSTANCES.map((i) => ({
          address: `10.0.0.${i.n}`,
          asn: i.asn,
          passive: i.weArePassive,
          families: ['ipv4-unicast', 'ipv6-unicast'],
          ...(i.name === 'A' ? { holdTime: A_HOLD } : {}),
        })),
        advertise: [OURS_V4, OURS_V6],
      });
      for (const inst of INSTANCES) {
        const host = await topo.host(`${label}${inst.name}`, inst.n);
        const d = await start({
          ns: host.ns,
          dir: host.dir,
          asn: inst.asn,
          address: host.address,
          address6: host.address6,
          neighbor: { address: us.address, asn: LOCAL_AS, passive: inst.daemonPassive, holdTime: inst.name === 'A' ? A_HOLD : 90 },
          routes: [v4(inst), v6(inst)],
        });
        daemons.set(inst.name, { inst, host, d });
      }
    } catch (e) {
      await cleanup();
      throw e;
    }
  });

  async function cleanup(): Promise<void> {
    for (const { d } of daemons.values()) await d.stop().catch(() => undefined);
    await speaker?.stop().catch(() => undefined);
    await topo.destroy();
  }
  afterAll(cleanup);

  it('reaches Established with every instance: eBGP and iBGP, active and passive, 4-octet AS', async () => {
    const started = Date.now();
    await until(async () => (await speaker.neighbors()).every((n) => n.state === 'Established'), 60000, 'all neighbors Established');
    const setup = (Date.now() - started) / 1000;
    // Each side goes Established on the other's KEEPALIVE: the daemons may say so a moment later.
    const daemonsUp = async (): Promise<boolean> =>
      (await Promise.all([...daemons.values()].map(({ d }) => d.established()))).every(Boolean);
    await until(daemonsUp, 10000, 'every daemon reporting Established').catch(() => undefined);
    for (const { d } of daemons.values()) expect(await d.established()).toBe(true);
    expect((await speaker.neighbors()).every((n) => n.state === 'Established')).toBe(true);
    // Who dialed shows in the kernel's socket table: their port 179 means we connected.
    for (const { inst, host } of daemons.values()) {
      const lines = await connectionsTo(host.address);
      expect(lines).toHaveLength(1);
      const weDialed = lines[0]!.remotePort === 179;
      if (inst.weArePassive) expect(weDialed).toBe(false);
      if (inst.daemonPassive) expect(weDialed).toBe(true);
    }
    const e = await speaker.neighbor('10.0.0.15');
    expect(e.capabilities).toContain('fourOctetAs');
    // The default configuration's warm-up ran before it listened (bgp/speaker/warm-up.ts).
    expect(speaker.log()).toMatch(/"routes":20000,.*UPDATE path warmed up with a synthetic table/);
    process.stdout.write(`[${label}] all 5 sessions Established ${setup.toFixed(1)} s after the last daemon was started\n`);
  });

  it('our prefixes reach every instance with the expected next hop, AS path, origin, local preference', async () => {
    for (const { inst, d } of daemons.values()) {
      const ibgp = inst.asn === LOCAL_AS;
      await until(
        async () => !!find(await d.routes('ipv4'), OURS_V4) && !!find(await d.routes('ipv6'), OURS_V6),
        20000,
        `${inst.name} has our prefixes`,
      );
      const r4 = find(await d.routes('ipv4'), OURS_V4)!;
      const r6 = find(await d.routes('ipv6'), OURS_V6)!;
      expect(r4).toMatchObject({ nextHop: us.address, asPath: ibgp ? [] : [LOCAL_AS], origin: 'i' });
      expect(r6).toMatchObject({ nextHop: us.address6, asPath: ibgp ? [] : [LOCAL_AS], origin: 'i' });
      if (ibgp) expect(r4.localPref).toBe(100);
    }
  });

  it("every instance's prefixes reach our RIB", async () => {
    for (const { inst, host } of daemons.values()) {
      await until(
        async () => !!(await ribHas(v4(inst), host.address)) && !!(await ribHas(v6(inst), host.address)),
        20000,
        `${inst.name}'s prefixes in our RIB`,
      );
      const p4 = (await ribHas(v4(inst), host.address))!;
      const p6 = (await ribHas(v6(inst), host.address))!;
      const path = inst.asn === LOCAL_AS ? '' : String(inst.asn);
      expect(p4).toMatchObject({ nextHop: host.address, asPath: path, origin: 'i', accepted: true });
      expect(p6).toMatchObject({ asPath: path, origin: 'i', accepted: true });
      expect(p6.nextHop).toMatch(/:/);
      if (inst.asn === LOCAL_AS) expect(p4.localPref).toBe(100);
    }
    // A peer may send our own routes back (FRR does): received, kept, never accepted.
    const n = await speaker.neighbor('10.0.0.15');
    expect(n.accepted).toBe(2);
    for (const p of (await speaker.adjIn('10.0.0.15')).filter((x) => !x.accepted)) expect(p.rejectReason).toMatch(/AS loop/);
  });

  it('re-advertises eBGP routes to other eBGP peers with our AS prepended, and respects iBGP split horizon', async () => {
    const { inst: a } = get('A');
    const { d: b } = get('B');
    const { d: e } = get('E');
    await until(async () => !!find(await b.routes('ipv4'), v4(a)), 20000, "B has A's route");
    expect(find(await b.routes('ipv4'), v4(a))).toMatchObject({ asPath: [LOCAL_AS, 65001], nextHop: us.address });
    await until(async () => !!find(await e.routes('ipv4'), v4(a)), 20000, "E has A's route");
    expect(find(await e.routes('ipv4'), v4(a))).toMatchObject({ asPath: [LOCAL_AS, 65001] });
    // E's 4-octet AS travels on as well.
    await until(async () => !!find(await b.routes('ipv6'), v6(get('E').inst)), 20000, "B has E's IPv6 route");
    expect(find(await b.routes('ipv6'), v6(get('E').inst))).toMatchObject({ asPath: [LOCAL_AS, 4200000001] });
    // eBGP-learned routes go to iBGP peers unchanged (next hop kept), iBGP-learned ones do not.
    const { d: c, inst: cInst } = get('C');
    const { d: dd } = get('D');
    await until(async () => !!find(await c.routes('ipv4'), v4(a)), 20000, "C has A's route");
    expect(find(await c.routes('ipv4'), v4(a))).toMatchObject({ asPath: [65001], nextHop: '10.0.0.11', localPref: 100 });
    await until(async () => !!find(await b.routes('ipv4'), v4(cInst)), 20000, "B has C's route");
    expect(find(await b.routes('ipv4'), v4(cInst))).toMatchObject({ asPath: [LOCAL_AS] });
    expect(find(await dd.routes('ipv4'), v4(cInst))).toBeUndefined();
  });

  it('withdrawals work both ways, and a withdrawn route is withdrawn where it was re-advertised', async () => {
    const { inst: a, d: da, host: ha } = get('A');
    const { d: b } = get('B');
    await da.withdraw(v4(a));
    await until(async () => !(await ribHas(v4(a), ha.address)), 20000, "A's route gone from our RIB");
    await until(async () => !find(await b.routes('ipv4'), v4(a)), 20000, "A's route withdrawn from B");
    await da.announce(v4(a));
    await until(async () => !!find(await b.routes('ipv4'), v4(a)), 20000, "A's route back at B");

    await speaker.reconfigure((c) => ({ ...c, advertise: [OURS_V6] }));
    for (const { inst, d } of daemons.values())
      await until(async () => !find(await d.routes('ipv4'), OURS_V4), 20000, `our route withdrawn from ${inst.name}`);
    expect(find(await get('C').d.routes('ipv6'), OURS_V6)).toBeDefined();
    await speaker.reconfigure((c) => ({ ...c, advertise: [OURS_V4, OURS_V6] }));
    for (const { inst, d } of daemons.values())
      await until(async () => !!find(await d.routes('ipv4'), OURS_V4), 20000, `our route back at ${inst.name}`);
  });

  it('route refresh: our ROUTE-REFRESH makes the peer resend, and we answer theirs', async () => {
    const { host: he, d: e } = get('E');
    const before = await speaker.neighbor(he.address);
    const asked = await speaker.refresh(he.address);
    expect(asked.refreshRequested).toEqual(['ipv4-unicast', 'ipv6-unicast']);
    await until(
      async () => (await speaker.neighbor(he.address)).messages.received.update >= before.messages.received.update + 2,
      20000,
      'E resent its routes',
    );
    expect((await speaker.neighbor(he.address)).messages.sent.routeRefresh).toBeGreaterThan(before.messages.sent.routeRefresh);

    const sentBefore = (await speaker.neighbor(he.address)).messages.sent.update;
    const cannot = await e.requestRefresh();
    if (cannot) {
      process.stdout.write(`[${label}] not checked: answering the daemon's ROUTE-REFRESH, because ${cannot}\n`);
      return;
    }
    await until(
      async () => (await speaker.neighbor(he.address)).messages.received.routeRefresh > before.messages.received.routeRefresh,
      20000,
      'E sent ROUTE-REFRESH',
    );
    await until(async () => (await speaker.neighbor(he.address)).messages.sent.update > sentBefore, 20000, 'we resent our routes to E');
    expect(find(await e.routes('ipv4'), OURS_V4)).toBeDefined();
  });

  it('a simultaneous connect (E dials while we dial) leaves exactly one session', async () => {
    const { host: he } = get('E');
    expect(await connectionsTo(he.address)).toHaveLength(1);
    expect((await speaker.neighbor(he.address)).state).toBe('Established');
  });

  it('drops a peer that goes silent when the hold timer expires, and recovers when it is back', async () => {
    const { d: a, host: ha, inst } = get('A');
    a.pause();
    try {
      const t0 = Date.now();
      await until(async () => (await speaker.neighbor(ha.address)).state !== 'Established', (A_HOLD + 10) * 1000, 'A dropped');
      const waited = (Date.now() - t0) / 1000;
      const n = await speaker.neighbor(ha.address);
      expect(n.lastError).toMatch(/hold timer expired/i);
      expect(n.notifications.sent['4/0']).toBeGreaterThanOrEqual(1);
      expect(waited).toBeLessThanOrEqual(A_HOLD + 5);
      expect(await ribHas(v4(inst), ha.address)).toBeUndefined();
    } finally {
      a.resume();
    }
    await until(async () => (await speaker.neighbor(ha.address)).state === 'Established', 60000, 'A back');
    await until(async () => !!(await ribHas(v4(inst), ha.address)), 20000, "A's routes back");
  });
}
