/**
 * The outbound pipeline's timing: a burst of changes goes out while it is being queued (the next
 * peer works on it meanwhile), a socket that is full gets nothing more until it drains, and the
 * rest and End-of-RIB follow once the burst is over.
 */
import pino from 'pino';
import { Outbound } from '../../../bgp/speaker/outbound';
import { PrefixIndex } from '../../../bgp/rib/prefix-index';
import type { Peer } from '../../../bgp/session/peer';
import type { Path, PeerRef } from '../../../bgp/rib/path';
import { decodeMessage } from '../../../bgp/codec/message';
import type { ReceivedUpdate } from '../../../bgp/codec/messages';

const source: PeerRef = { address: '10.0.0.9', asn: 65009, routerId: '10.0.0.9', ibgp: false };
const attrs = { origin: 0, asPath: [{ type: 2, asns: [65009] }], nextHop: '10.0.0.9' };
const path = (): Path => ({ family: 'ipv4-unicast', attrs, source, sinceSeconds: 0, accepted: true });
const prefix = (i: number): string => `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;
/** Numbering shared by the outbounds of a test (a speaker's is its RIB's). */
const prefixes = new PrefixIndex();

/**
 * A peer whose socket takes `room` messages before it is full; `drain()` empties it. With
 * `drainOnTick` it empties itself right after the send that filled it (process.nextTick, as a
 * socket does whose write completed at once), and like a socket's 'drain' event that is heard
 * only by a listener already there.
 */
function fakePeer(room = Infinity, fail = false, drainOnTick = false) {
  const sent: Buffer[] = [];
  let resets = 0;
  let drained: (() => void) | undefined;
  let free = room;
  const peer = {
    address: '10.0.0.2',
    codec: { as4: true },
    negotiated: { families: ['ipv4-unicast'] },
    counters: { routesNotSent: 0 },
    send: (buf: Buffer): boolean => {
      if (fail) throw new Error('socket exploded');
      sent.push(buf);
      const more = --free > 0;
      if (!more && drainOnTick) process.nextTick(() => drain());
      return more;
    },
    onDrain: (listener: () => void): void => {
      drained = listener;
    },
    sendRefreshMarker: (): void => undefined,
    reset: (): void => {
      resets++;
    },
  };
  const announced = (): number => sent.map((b) => decodeMessage(b, { as4: true }) as ReceivedUpdate).reduce((n, u) => n + u.nlri.length, 0);
  const drain = (): void => {
    free = room;
    const d = drained;
    drained = undefined;
    d?.();
  };
  return { peer: peer as unknown as Peer, sent, announced, drain, resets: () => resets };
}

/** The session stays current until it is reset (the speaker then replaces its outbound pipeline). */
function outbound(peer: Peer, current: () => boolean = () => true): Outbound {
  const target = { address: '10.0.0.2', asn: 65002, ibgp: false, families: ['ipv4-unicast' as const], nextHop: () => '10.0.0.1' };
  return new Outbound(peer, target, { asn: 65001, log: pino({ level: 'silent' }), current, prefixes });
}

/** Queues `n` routes from `from` the way the speaker does: an UPDATE's worth of changes, then schedule(). */
function burst(o: Outbound, from: number, n: number): void {
  for (let i = from; i < from + n; i += 800) {
    for (let k = i; k < Math.min(i + 800, from + n); k++) o.export(prefixes.slot(prefix(k)), path());
    o.schedule();
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Outbound', () => {
  it('sends a burst while it is being queued, the rest and End-of-RIB after it', async () => {
    const { peer, sent, announced } = fakePeer();
    const o = outbound(peer);
    burst(o, 0, 10000);
    // Before the event loop turns: all but the last few thousand are on the socket.
    expect(announced()).toBeGreaterThanOrEqual(6000);
    for (let i = 0; i < 5; i++) await nextTurn();
    expect(announced()).toBe(10000);
    // End-of-RIB: an UPDATE with nothing in it, last.
    const last = decodeMessage(sent[sent.length - 1]!, { as4: true }) as ReceivedUpdate;
    expect([last.nlri.length, last.withdrawn.length, last.attributes.length]).toEqual([0, 0, 0]);
  });

  it('a few changes wait for the end of the burst', async () => {
    const { peer, announced } = fakePeer();
    const o = outbound(peer);
    burst(o, 0, 1000);
    expect(announced()).toBe(0);
    await nextTurn();
    expect(announced()).toBe(1000);
  });

  it('a full socket gets nothing more until it drains', async () => {
    const { peer, announced, drain } = fakePeer(2);
    const o = outbound(peer);
    burst(o, 0, 20000);
    // The first batch filled it: what came after waits, however much more is queued.
    const first = announced();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(20000);
    for (let i = 0; i < 5; i++) await nextTurn();
    const beforeDrain = announced();
    expect(beforeDrain).toBeLessThan(20000);
    for (let i = 0; i < 20 && announced() < 20000; i++) {
      drain();
      await nextTurn();
    }
    expect(announced()).toBe(20000);
  });

  it('a socket that drains before the flush runs is heard: the peer gets every route', async () => {
    const { peer, announced, sent } = fakePeer(2, false, true);
    const o = outbound(peer);
    // Queued from a timer, the burst's sends fill the socket and it drains before setImmediate.
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        burst(o, 0, 20000);
        resolve();
      }, 1),
    );
    for (let i = 0; i < 50 && announced() < 20000; i++) await nextTurn();
    expect(announced()).toBe(20000);
    for (let i = 0; i < 5; i++) await nextTurn();
    const last = decodeMessage(sent[sent.length - 1]!, { as4: true }) as ReceivedUpdate;
    expect([last.nlri.length, last.withdrawn.length, last.attributes.length]).toEqual([0, 0, 0]);
  });

  it('a send that throws inside a burst resets that session and never reaches the caller', async () => {
    const { peer, resets } = fakePeer(Infinity, true);
    const o = outbound(peer, () => resets() === 0);
    expect(() => burst(o, 0, 5000)).not.toThrow();
    expect(resets()).toBe(1);
    await nextTurn();
    expect(resets()).toBe(1);
  });
});
