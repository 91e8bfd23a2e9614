/**
 * Two BFD sessions wired back to back in memory under jest's fake clock: the three-way
 * handshake, the poll sequence that moves to the configured intervals, detection of silence,
 * AdminDown (no failure, RFC 5882 3.2), and forged packets from the neighbour's address.
 */
import { BfdSession, BfdSettings } from '../../../bgp/bfd/session';
import { BfdState, decodeControl, encodeControl, ControlPacket } from '../../../bgp/bfd/packet';
import { silentLogger } from '../../../bgp/log';

const settings: BfdSettings = { port: 3784, detectMultiplier: 3, desiredMinTxMs: 300, requiredMinRxMs: 300 };

interface Pair {
  a: BfdSession;
  b: BfdSession;
  /** Packets each side sent, decoded. */
  sentByA: ControlPacket[];
  sentByB: ControlPacket[];
  /** Whether packets get through, each way. */
  link: { ab: boolean; ba: boolean };
  failures: string[];
}

function pair(sa: BfdSettings = settings, sb: BfdSettings = settings): Pair {
  const p = { sentByA: [], sentByB: [], link: { ab: true, ba: true }, failures: [] } as unknown as Pair;
  p.a = new BfdSession(
    '10.0.0.2',
    111,
    sa,
    (buf) => {
      p.sentByA.push(decodeControl(buf));
      if (p.link.ab) queueMicrotask(() => p.b.receive(decodeControl(buf)));
    },
    silentLogger,
  );
  p.b = new BfdSession(
    '10.0.0.1',
    222,
    sb,
    (buf) => {
      p.sentByB.push(decodeControl(buf));
      if (p.link.ba) queueMicrotask(() => p.a.receive(decodeControl(buf)));
    },
    silentLogger,
  );
  p.a.on('failed', (why) => p.failures.push(`a: ${why}`));
  p.b.on('failed', (why) => p.failures.push(`b: ${why}`));
  return p;
}

describe('BFD session (RFC 5880 6.8)', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] }));
  afterEach(() => jest.useRealTimers());

  async function advance(ms: number): Promise<void> {
    await jest.advanceTimersByTimeAsync(ms);
  }

  it('comes Up through Down/Init, then polls its way from 1 s to the configured 300 ms', async () => {
    const p = pair();
    p.a.start();
    p.b.start();
    await advance(3000);
    expect(p.a.state).toBe(BfdState.Up);
    expect(p.b.state).toBe(BfdState.Up);
    expect(p.a.remoteDiscr).toBe(222);
    // While not Up, packets advertise at least 1 s (6.8.3).
    expect(p.sentByA[0]!.desiredMinTx).toBe(1_000_000);
    expect(p.sentByA[0]!.state).toBe(BfdState.Down);
    // Up: a poll carries the new interval and is answered with final.
    const poll = p.sentByA.find((x) => x.poll)!;
    expect(poll.desiredMinTx).toBe(300_000);
    expect(p.sentByB.some((x) => x.final)).toBe(true);
    // After the poll the schedule is the configured one: 2 s bring about 6-9 packets, not 2.
    const before = p.sentByA.length;
    await advance(2000);
    expect(p.sentByA.length - before).toBeGreaterThanOrEqual(6);
    expect(p.sentByA.length - before).toBeLessThanOrEqual(9);
    expect(p.a.view()).toMatchObject({ state: 'Up', remoteState: 'Up', txIntervalMs: 300, detectTimeMs: 900 });
    expect(p.failures).toEqual([]);
  });

  it('goes Down on silence within the detection time and reports a failure; recovers when packets flow again', async () => {
    const p = pair();
    p.a.start();
    p.b.start();
    await advance(3000);
    p.link.ba = false;
    await advance(950);
    expect(p.a.state).toBe(BfdState.Down);
    expect(p.a.view().diag).toBe('control detection time expired');
    expect(p.failures).toEqual(['a: BFD down: control detection time expired']);
    // a now sends Down once a second, slower than b's detection time: b leaves Up too.
    await advance(1100);
    expect(p.b.state).not.toBe(BfdState.Up);
    expect(p.failures).toHaveLength(2);
    p.link.ba = true;
    await advance(4000);
    expect([p.a.state, p.b.state]).toEqual([BfdState.Up, BfdState.Up]);
  });

  it("takes the neighbour's AdminDown as no failure (RFC 5882 3.2)", async () => {
    const p = pair();
    p.a.start();
    p.b.start();
    await advance(3000);
    p.b.close();
    await advance(10);
    expect(p.a.state).toBe(BfdState.Down);
    expect(p.a.remoteState).toBe(BfdState.AdminDown);
    expect(p.failures).toEqual([]);
    expect(p.sentByB.at(-1)!.state).toBe(BfdState.AdminDown);
  });

  it("each side sends at the slower of its own wish and the other's limit; detection is the sender's multiplier x the slower interval", async () => {
    const p = pair(settings, { ...settings, desiredMinTxMs: 1000, requiredMinRxMs: 1000, detectMultiplier: 5 });
    p.a.start();
    p.b.start();
    await advance(5000);
    expect(p.a.state).toBe(BfdState.Up);
    expect(p.a.view()).toMatchObject({ txIntervalMs: 1000, detectTimeMs: 5000 });
    expect(p.b.view()).toMatchObject({ txIntervalMs: 1000, detectTimeMs: 3000 });
  });

  it('ignores a forged Down from the neighbour address that does not carry its discriminator', async () => {
    const p = pair();
    p.a.start();
    p.b.start();
    await advance(3000);
    const forged = { ...p.sentByB.at(-1)!, state: BfdState.Down, yourDiscr: 0, myDiscr: 999, poll: false, final: false };
    p.a.receive(decodeControl(encodeControl(forged)));
    expect(p.a.state).toBe(BfdState.Up);
    expect(p.a.view().packetsIgnored).toBe(1);
    // The real neighbour's Down (its discriminator, naming ours) is obeyed.
    p.a.receive({ ...forged, myDiscr: 222, yourDiscr: 111 });
    expect(p.a.state).toBe(BfdState.Down);
  });

  it('sends nothing to a neighbour whose required minimum receive interval is 0 (6.8.7)', async () => {
    const p = pair();
    p.a.start();
    await advance(10);
    p.a.receive({ ...p.sentByA[0]!, myDiscr: 5, yourDiscr: 111, requiredMinRx: 0, state: BfdState.Down });
    const n = p.sentByA.length;
    // Until its detection time (3 x 1 s) passes without a word; then it is forgotten.
    await advance(2500);
    expect(p.sentByA.length).toBe(n);
    await advance(2000);
    expect(p.sentByA.length).toBeGreaterThan(n);
  });
});
