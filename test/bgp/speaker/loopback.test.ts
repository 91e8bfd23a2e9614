/**
 * Two speakers in this process on loopback addresses: sessions, advertisement, withdrawal and
 * connection collisions without any namespace. Ports are picked by the kernel.
 */
import { Speaker } from '../../../bgp/speaker/speaker';
import { State } from '../../../bgp/fsm/states';
import { until } from '../../../lab/wait';
import { prefixText } from '../../../net';
import type { BestChange } from '../../../bgp/rib/rib';

async function pair(
  opts: { asnA?: number; asnB?: number; passiveB?: boolean; extendedNextHopA?: boolean } = {},
): Promise<[Speaker, Speaker]> {
  const a = new Speaker({
    asn: opts.asnA ?? 65001,
    routerId: '10.0.0.1',
    listen: { address: '127.0.0.1', port: 0 },
    connectRetry: 1,
    extendedNextHop: opts.extendedNextHopA ?? true,
  });
  const b = new Speaker({ asn: opts.asnB ?? 65002, routerId: '10.0.0.2', listen: { address: '127.0.0.2', port: 0 }, connectRetry: 1 });
  await a.start();
  await b.start();
  b.addNeighbor({
    address: '127.0.0.1',
    asn: a.options.asn,
    port: a.listenPort!,
    localAddress: '127.0.0.2',
    passive: opts.passiveB ?? false,
    families: ['ipv4-unicast', 'ipv6-unicast'],
  });
  a.addNeighbor({
    address: '127.0.0.2',
    asn: b.options.asn,
    port: b.listenPort!,
    localAddress: '127.0.0.1',
    families: ['ipv4-unicast', 'ipv6-unicast'],
  });
  return [a, b];
}

describe('two speakers on loopback', () => {
  let speakers: Speaker[] = [];
  afterEach(async () => {
    await Promise.all(speakers.map((s) => s.stop()));
    speakers = [];
  });

  it('simultaneous connects resolve to exactly one Established session', async () => {
    const [a, b] = await pair();
    speakers = [a, b];
    const pa = a.peers.get('127.0.0.2')!;
    const pb = b.peers.get('127.0.0.1')!;
    await until(() => pa.state === State.Established && pb.state === State.Established, 10000);
    // Let any losing connection finish closing, then check only one is left on each side.
    await until(() => pa.connections.size === 1 && pb.connections.size === 1, 5000);
    const ca = [...pa.connections][0]!;
    const cb = [...pb.connections][0]!;
    expect(ca.localAddress?.replace('::ffff:', '')).toBe('127.0.0.1');
    // Both ends of the same TCP connection: one side dialed, the other accepted.
    expect(new Set([ca.direction, cb.direction])).toEqual(new Set(['outgoing', 'incoming']));
  });

  it('advertises, re-advertises changes and withdraws', async () => {
    const [a, b] = await pair({ passiveB: true });
    speakers = [a, b];
    await until(() => b.peers.get('127.0.0.1')!.state === State.Established, 10000);
    a.originate('10.1.0.0/24');
    a.originate('fd00:1::/64');
    await until(() => b.rib.destination('10.1.0.0/24') !== undefined && b.rib.destination('fd00:1::/64') !== undefined, 5000);
    const v4 = b.rib.destination('10.1.0.0/24')!.best!;
    expect(v4.attrs.asPath).toEqual([{ type: 2, asns: [65001] }]);
    expect(v4.attrs.nextHop).toBe('127.0.0.1');
    expect(v4.attrs.localPref).toBeUndefined();
    expect(b.rib.destination('fd00:1::/64')!.best!.attrs.nextHop).toBe('::ffff:127.0.0.1');
    a.originate('10.1.0.0/24', { med: 7 });
    await until(() => b.rib.destination('10.1.0.0/24')?.best?.attrs.med === 7, 5000);
    a.withdraw('10.1.0.0/24');
    await until(() => b.rib.destination('10.1.0.0/24') === undefined, 5000);
    expect(b.rib.counts('127.0.0.1')).toEqual({ received: 1, accepted: 1 });
  });

  it('emits best-path changes as a stream, in order', async () => {
    const [a, b] = await pair();
    speakers = [a, b];
    const seen: string[] = [];
    b.on('bestChanges', (changes: BestChange[]) => {
      // An IPv4 prefix from a peer comes as its number; prefixText gives its text.
      for (const c of changes)
        seen.push(`${c.best ? 'best' : 'gone'} ${prefixText(c.prefix)}${c.best ? ` via ${c.best.source?.address ?? 'local'}` : ''}`);
    });
    a.originate('10.7.0.0/16');
    await until(() => seen.length === 1, 10000);
    a.withdraw('10.7.0.0/16');
    await until(() => seen.length === 2, 5000);
    expect(seen).toEqual(['best 10.7.0.0/16 via 127.0.0.1', 'gone 10.7.0.0/16']);
  });

  it('without an IPv6 next hop or extended next hop, IPv6 routes are not advertised', async () => {
    // Loopback has no global IPv6 address; without RFC 8950 an IPv4-mapped next hop is not used.
    const [a, b] = await pair({ extendedNextHopA: false });
    speakers = [a, b];
    a.originate('10.8.0.0/16');
    a.originate('fd00:8::/64');
    await until(() => b.rib.destination('10.8.0.0/16') !== undefined, 10000);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.rib.destination('fd00:8::/64')).toBeUndefined();
  });

  it('export and import policies, re-applied when their inputs change', async () => {
    let allowVip = false;
    let rejectPod = true;
    const a = new Speaker({
      asn: 65001,
      routerId: '10.0.0.1',
      listen: { address: '127.0.0.1', port: 0 },
      connectRetry: 1,
      exportPolicy: (prefix) =>
        prefix === '198.51.100.7/32'
          ? allowVip
            ? { communities: [0xffffff01] }
            : 'deny'
          : { communities: [0xffffff01], prepend: { asn: 65001, times: 2 }, nextHop: '10.0.0.1' },
    });
    const b = new Speaker({
      asn: 65002,
      routerId: '10.0.0.2',
      listen: { address: '127.0.0.2', port: 0 },
      connectRetry: 1,
      importPolicy: (prefix) => !(rejectPod && prefix === '10.233.64.0/24'),
    });
    await a.start();
    await b.start();
    speakers = [a, b];
    b.addNeighbor({ address: '127.0.0.1', asn: 65001, port: a.listenPort!, localAddress: '127.0.0.2', passive: true });
    a.addNeighbor({ address: '127.0.0.2', asn: 65002, port: b.listenPort!, localAddress: '127.0.0.1' });
    a.originate('10.233.64.0/24');
    a.originate('198.51.100.7/32');
    await until(() => a.peerSynced('127.0.0.2') && b.peerSynced('127.0.0.1'), 10000);
    await until(() => b.rib.adjRibIn('127.0.0.1').length === 1, 5000);
    // Exported with the policy's communities and prepending; rejected by the receiver's policy.
    const [podPrefix, pod] = b.rib.adjRibIn('127.0.0.1')[0]!;
    expect(podPrefix).toBe('10.233.64.0/24');
    expect(pod).toMatchObject({ accepted: false, rejectReason: 'rejected by import policy' });
    expect(pod.attrs.communities).toEqual([0xffffff01]);
    expect(pod.attrs.asPath).toEqual([{ type: 2, asns: [65001, 65001, 65001] }]);
    expect(pod.attrs.nextHop).toBe('10.0.0.1');
    expect(b.rib.destination('10.233.64.0/24')).toMatchObject({ best: undefined });
    allowVip = true;
    a.reapplyPolicies();
    rejectPod = false;
    b.reapplyPolicies();
    await until(
      () => b.rib.destination('198.51.100.7/32')?.best !== undefined && b.rib.destination('10.233.64.0/24')?.best !== undefined,
      5000,
    );
    // Without a next hop from the policy: the session's own address.
    expect(b.rib.destination('198.51.100.7/32')!.best!.attrs.nextHop).toBe('127.0.0.1');
    allowVip = false;
    a.reapplyPolicies();
    await until(() => b.rib.destination('198.51.100.7/32') === undefined, 5000);
  });

  it('iBGP carries LOCAL_PREF and keeps the AS path empty', async () => {
    const [a, b] = await pair({ asnA: 64512, asnB: 64512 });
    speakers = [a, b];
    a.originate('10.233.64.0/24');
    await until(() => b.rib.destination('10.233.64.0/24') !== undefined, 10000);
    const p = b.rib.destination('10.233.64.0/24')!.best!;
    expect(p.attrs).toMatchObject({ origin: 0, asPath: [], nextHop: '127.0.0.1', localPref: 100 });
  });

  it('a session that ends gives back the prefix numbers its Adj-RIB-Out held', async () => {
    const [a, b] = await pair({ passiveB: true });
    speakers = [a, b];
    const prefixes = ['10.7.1.0/24', '10.7.2.0/24', 'fd00:7::/64'];
    for (const p of prefixes) a.originate(p);
    const pa = a.peers.get('127.0.0.2')!;
    for (let flap = 0; flap < 2; flap++) {
      await until(() => prefixes.every((p) => b.rib.destination(p) !== undefined), 10000);
      pa.reset();
      await until(() => pa.state !== State.Established, 5000);
    }
    await until(() => prefixes.every((p) => b.rib.destination(p) !== undefined), 10000);
    for (const p of prefixes) a.withdraw(p);
    await until(() => prefixes.every((p) => b.rib.destination(p) === undefined), 5000);
    // Each ended session's advertisements held the three; the last one took the withdrawals.
    await until(() => a.advertisedCount('127.0.0.2') === 0, 5000);
    expect(a.rib.prefixes.size).toBe(0);
  });

  it('removing a neighbor withdraws its routes', async () => {
    const [a, b] = await pair();
    speakers = [a, b];
    a.originate('10.9.0.0/16');
    await until(() => b.rib.destination('10.9.0.0/16') !== undefined, 10000);
    b.removeNeighbor('127.0.0.1');
    expect(b.rib.destination('10.9.0.0/16')).toBeUndefined();
    await until(() => a.peers.get('127.0.0.2')!.state !== State.Established, 5000);
    expect(a.peers.get('127.0.0.2')!.lastError).toMatch(/Peer De-configured/);
  });
});
