/**
 * 100,000 random and mutated messages into Established sessions of a real Speaker (codec, FSM,
 * import policy, RIB, export) over an in-memory transport. After each input the session is
 * either still Established with nothing half-read, or it has sent a NOTIFICATION and closed;
 * nothing throws, nothing logs a BUG, nothing waits forever on a partial message.
 */
import { Speaker } from '../../../bgp/speaker/speaker';
import { Peer } from '../../../bgp/session/peer';
import { State } from '../../../bgp/fsm/states';
import { decodeMessage, MessageType, NotificationMessage } from '../../../bgp/codec';
import { establishFake } from '../../helpers/fake-peer';
import type { Logger } from '../../../bgp/log';
import { FakeTransport } from './fake-transport';
import { Mutator } from './mutate';
import { corpus } from './corpus';

const CASES = Number(process.env.FUZZ_SESSION_CASES ?? 100000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123) + 1;

function bugCatchingLogger(bugs: string[]): Logger {
  const l: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (obj, msg) => bugs.push(`${msg} ${JSON.stringify(obj, (_k, v) => (v instanceof Error ? v.stack : v))}`),
    child: () => l,
  };
  return l;
}

function lastNotification(t: FakeTransport, from: number): NotificationMessage | undefined {
  for (let i = t.written.length - 1; i >= from; i--) {
    const b = t.written[i]!;
    if (b[18] === MessageType.Notification) return decodeMessage(b) as NotificationMessage;
  }
  return undefined;
}

describe('session fuzz', () => {
  it(`survives ${CASES} random and mutated messages in Established sessions`, async () => {
    const bugs: string[] = [];
    const speaker = new Speaker({
      asn: 65000,
      routerId: '10.0.0.1',
      listen: false,
      log: bugCatchingLogger(bugs),
      gracefulRestart: { restartTime: 30, restarting: false, preserved: false },
    });
    speaker.originate('10.200.0.0/24');
    speaker.originate('fd00:200::/64');
    const peer: Peer = speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true, families: ['ipv4-unicast', 'ipv6-unicast'] });
    const m = new Mutator(SEED);
    const seeds = corpus().filter((s) => s.buf[18] !== MessageType.Open);
    let transport = new FakeTransport();

    const establish = (): void => {
      transport = establishFake(speaker, {
        address: '10.0.0.2',
        asn: 65001,
        as4: m.int(3) !== 0,
        gracefulRestart: { restartTime: 5, restarting: false, preserved: true },
      });
    };

    const resets = new Map<string, number>();
    let stayed = 0;
    let sessions = 0;
    establish();
    sessions++;
    for (let i = 0; i < CASES; i++) {
      const s = m.pick(seeds);
      const input = m.int(20) === 0 ? m.random() : m.mutate(s.buf, m.pick(seeds).buf);
      const before = transport.written.length;
      const received = Object.values(peer.counters.notificationsReceived).reduce((a, b) => a + b, 0);
      transport.push(input);
      if (peer.state === State.Established && (peer.established?.bufferedBytes ?? 0) > 0) {
        // A message cut short leaves the session waiting; more bytes must end the wait one way or
        // the other (here: zeros, which complete it and then break the next marker).
        transport.push(Buffer.alloc(4096));
      }
      if (peer.state === State.Established) {
        expect(peer.established!.bufferedBytes).toBe(0);
        stayed++;
        continue;
      }
      expect(transport.ended).toBe(true);
      if (Object.values(peer.counters.notificationsReceived).reduce((a, b) => a + b, 0) > received) {
        // The input was a NOTIFICATION: the session ends without one from us (RFC 4271 6.4).
        resets.set('received NOTIFICATION', (resets.get('received NOTIFICATION') ?? 0) + 1);
        establish();
        sessions++;
        continue;
      }
      const n = lastNotification(transport, before);
      if (!n) throw new Error(`session left Established without a NOTIFICATION after ${input.toString('hex')} (${peer.lastError})`);
      expect(n.code).toBeGreaterThanOrEqual(1);
      expect(n.code).toBeLessThanOrEqual(7);
      resets.set(`${n.code}/${n.subcode}`, (resets.get(`${n.code}/${n.subcode}`) ?? 0) + 1);
      establish();
      sessions++;
    }
    await new Promise((r) => setImmediate(r));
    await speaker.stop();
    expect(bugs).toEqual([]);
    const summary = [...resets]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    process.stdout.write(
      `session fuzz: ${CASES} cases (seed ${SEED}), ${sessions} sessions; stayed Established ${stayed}; NOTIFICATIONs ${summary}\n`,
    );
    expect(stayed).toBeGreaterThan(CASES / 20);
  });
});
