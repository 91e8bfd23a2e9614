/**
 * Neighbours that misbehave, each once seen to kill the process: an UPDATE that no longer fits
 * in 4096 octets once our AS is prepended, connections reset while a session is Established,
 * connection storms from a neighbour's address. The speaker must log, count, refuse and carry
 * on, with the other sessions untouched.
 */
import net from 'node:net';
import { Speaker } from '../../../bgp/speaker/speaker';
import { State } from '../../../bgp/fsm/states';
import { decodeMessage, MessageType, ReceivedUpdate } from '../../../bgp/codec';
import { ipv4Update } from '../../helpers/updates';
import { establishFake } from '../../helpers/fake-peer';
import type { FakeTransport } from '../fuzz/fake-transport';
import { until } from '../../../lab/wait';
import { prefixText } from '../../../net';
import { captureLogger } from '../../helpers/capture-logger';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** An UPDATE from AS 65001 whose AS_PATH is `asns` long (4-octet ASNs), for one IPv4 prefix. */
const updateWithPath = (prefix: string, asns: number): Buffer =>
  ipv4Update([prefix], { asn: 65001, nextHop: '10.0.0.2', pathLength: asns });

/** Prefixes announced and withdrawn in the UPDATEs written to a transport from index `from`. */
function updatesSent(t: FakeTransport, from = 0): { announced: string[]; withdrawn: string[] } {
  const out = { announced: [] as string[], withdrawn: [] as string[] };
  for (const b of t.written.slice(from)) {
    if (b[18] !== MessageType.Update) continue;
    expect(b.length).toBeLessThanOrEqual(4096);
    const u = decodeMessage(b, { as4: true }) as ReceivedUpdate;
    out.announced.push(...u.nlri.map(prefixText));
    out.withdrawn.push(...u.withdrawn.map(prefixText));
  }
  return out;
}

describe('hostile neighbours', () => {
  it('a route that does not fit in 4096 octets toward one peer is not sent to it, logged once and counted; the others flow', async () => {
    const { log, lines } = captureLogger();
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, log });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
    speaker.addNeighbor({ address: '10.0.0.3', asn: 65002, passive: true });
    const a = establishFake(speaker, { address: '10.0.0.2', asn: 65001, families: ['ipv4-unicast'] });
    const b = establishFake(speaker, { address: '10.0.0.3', asn: 65002, families: ['ipv4-unicast'] });
    await tick();
    const big = updateWithPath('10.9.0.0/24', 1011);
    // Legal as received (at most 4096 octets), too long once our AS is prepended.
    expect(big.length).toBeGreaterThan(4090);
    expect(big.length).toBeLessThanOrEqual(4096);
    a.push(big);
    a.push(updateWithPath('10.8.0.0/24', 3));
    await tick();
    await tick();
    const peerB = speaker.peers.get('10.0.0.3')!;
    expect(peerB.state).toBe(State.Established);
    expect(updatesSent(b).announced).toEqual(['10.8.0.0/24']);
    // The same route again: still refused, not logged again.
    a.push(big);
    await tick();
    await tick();
    const refusals = lines.filter((l) => l.obj.prefix === '10.9.0.0/24' && l.level === 'warn');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.obj.peer).toBe('10.0.0.3');
    expect(refusals[0]!.msg).toMatch(/4096/);
    expect(peerB.counters.routesNotSent).toBe(1);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);

    // It becomes sendable: announced. Too long again: withdrawn from the peer that had it.
    const mark = b.written.length;
    a.push(updateWithPath('10.9.0.0/24', 4));
    await tick();
    await tick();
    expect(updatesSent(b, mark).announced).toEqual(['10.9.0.0/24']);
    const mark2 = b.written.length;
    a.push(big);
    await tick();
    await tick();
    expect(updatesSent(b, mark2)).toEqual({ announced: [], withdrawn: ['10.9.0.0/24'] });
    expect(peerB.state).toBe(State.Established);
    expect(speaker.advertised('10.0.0.3').map(([p]) => p)).toEqual(['10.8.0.0/24']);
    await speaker.stop();
  });

  it('toward a peer without 4-octet AS support (AS4_PATH added), the same rule holds', async () => {
    const { log, lines } = captureLogger();
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, log });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
    speaker.addNeighbor({ address: '10.0.0.3', asn: 65002, passive: true });
    const a = establishFake(speaker, { address: '10.0.0.2', asn: 65001, families: ['ipv4-unicast'] });
    const b = establishFake(speaker, { address: '10.0.0.3', asn: 65002, families: ['ipv4-unicast'], as4: false });
    // 700 4-octet ASNs: 2.8 kB as received, AS_PATH (2 octets each) plus AS4_PATH (4 each) toward b.
    a.push(updateWithPath('10.9.0.0/24', 700));
    a.push(updateWithPath('10.8.0.0/24', 3));
    await tick();
    await tick();
    for (const w of b.written.filter((x) => x[18] === MessageType.Update)) expect(w.length).toBeLessThanOrEqual(4096);
    expect(speaker.advertised('10.0.0.3').map(([p]) => p)).toEqual(['10.8.0.0/24']);
    expect(speaker.peers.get('10.0.0.3')!.state).toBe(State.Established);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    await speaker.stop();
  });
});

describe('bugs are contained to one session', () => {
  it('a policy that throws for one peer resets that session only; the process and the other sessions go on', async () => {
    const { log, lines } = captureLogger();
    let explode = false;
    const speaker = new Speaker({
      asn: 65000,
      routerId: '10.0.0.1',
      listen: false,
      log,
      exportPolicy: (_prefix, _path, peer) => {
        if (explode && peer.address === '10.0.0.3') throw new Error('policy bug');
        return {};
      },
      importPolicy: (prefix) => {
        if (prefix === '10.66.0.0/24') throw new Error('import bug');
        return true;
      },
    });
    for (const [address, asn] of [
      ['10.0.0.2', 65001],
      ['10.0.0.3', 65002],
      ['10.0.0.4', 65003],
    ] as const)
      speaker.addNeighbor({ address, asn, passive: true });
    const a = establishFake(speaker, { address: '10.0.0.2', asn: 65001, families: ['ipv4-unicast'] });
    establishFake(speaker, { address: '10.0.0.3', asn: 65002, families: ['ipv4-unicast'] });
    const c = establishFake(speaker, { address: '10.0.0.4', asn: 65003, families: ['ipv4-unicast'] });
    explode = true;
    a.push(updateWithPath('10.8.0.0/24', 2));
    await tick();
    await tick();
    const state = (x: string): State => speaker.peers.get(x)!.state;
    expect(state('10.0.0.3')).not.toBe(State.Established);
    expect(state('10.0.0.2')).toBe(State.Established);
    expect(state('10.0.0.4')).toBe(State.Established);
    expect(updatesSent(c).announced).toEqual(['10.8.0.0/24']);
    // The import policy throwing on a's UPDATE ends a's session, not c's.
    a.push(updateWithPath('10.66.0.0/24', 2));
    await tick();
    expect(state('10.0.0.2')).not.toBe(State.Established);
    expect(state('10.0.0.4')).toBe(State.Established);
    expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([
      'BUG: exception while exporting routes; resetting the session',
      'BUG: exception while handling a message; resetting the session',
    ]);
    await speaker.stop();
  });
});

describe('connection storms from a neighbour address (real TCP on loopback)', () => {
  let speakers: Speaker[] = [];
  afterEach(async () => {
    await Promise.all(speakers.map((s) => s.stop()));
    speakers = [];
  });

  /** Opens a connection from `local` and resets it (RST) once connected, after `before` ran. */
  function resetConnection(port: number, local: string, before?: (s: net.Socket) => Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: local });
      s.on('error', () => resolve());
      s.on('connect', () => {
        void (before?.(s) ?? Promise.resolve()).then(() => {
          s.resetAndDestroy();
          resolve();
        });
      });
    });
  }

  it('200 connections reset by the neighbour while its session is Established: the process and the session live', async () => {
    const { log, lines } = captureLogger();
    const a = new Speaker({
      asn: 65001,
      routerId: '10.0.0.1',
      listen: { address: '127.0.0.1', port: 0 },
      connectRetry: 1,
      log,
    });
    const b = new Speaker({ asn: 65002, routerId: '10.0.0.2', listen: false, connectRetry: 1 });
    speakers = [a, b];
    await a.start();
    a.addNeighbor({ address: '127.0.0.2', asn: 65002, passive: true });
    b.addNeighbor({ address: '127.0.0.1', asn: 65001, port: a.listenPort!, localAddress: '127.0.0.2' });
    const pa = a.peers.get('127.0.0.2')!;
    await until(() => pa.state === State.Established, 10000);
    a.originate('10.1.0.0/24');
    await until(() => b.rib.destination('10.1.0.0/24') !== undefined, 5000);

    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, pa.connections.size)), 1);
    // One reset right away, one after a byte, then a storm of 200 at once.
    await resetConnection(a.listenPort!, '127.0.0.2');
    await resetConnection(a.listenPort!, '127.0.0.2', async (s) => {
      s.write(Buffer.alloc(19, 0xff));
      await new Promise((r) => setTimeout(r, 20));
    });
    await Promise.all(Array.from({ length: 200 }, () => resetConnection(a.listenPort!, '127.0.0.2')));
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(watch);
    expect(pa.state).toBe(State.Established);
    expect(b.peers.get('127.0.0.1')!.state).toBe(State.Established);
    expect(most).toBeLessThanOrEqual(2);
    expect(b.rib.destination('10.1.0.0/24')).toBeDefined();
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('while the neighbour is not Established, at most two connections get an FSM; more are refused at once', async () => {
    const a = new Speaker({ asn: 65001, routerId: '10.0.0.1', listen: { address: '127.0.0.1', port: 0 } });
    speakers = [a];
    await a.start();
    a.addNeighbor({ address: '127.0.0.2', asn: 65002, passive: true });
    const pa = a.peers.get('127.0.0.2')!;
    // Half-open connections that never send an OPEN: they hold FSMs until the hold timer.
    const held: net.Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const s = net.connect({ host: '127.0.0.1', port: a.listenPort!, localAddress: '127.0.0.2' });
      s.on('error', () => undefined);
      const idx = closed.push(false) - 1;
      s.on('close', () => (closed[idx] = true));
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    await until(() => closed.filter(Boolean).length === 3, 3000, 'three connections refused');
    expect(pa.connections.size).toBe(2);
    expect(closed.slice(0, 2)).toEqual([false, false]);
    for (const s of held) s.resetAndDestroy();
    await until(() => pa.connections.size <= 1, 3000, 'the reset connections to be dropped');
  });
});
