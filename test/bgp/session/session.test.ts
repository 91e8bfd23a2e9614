/**
 * One session driven by hand over an in-memory transport with fake timers: OPEN checks and
 * their NOTIFICATIONs (RFC 4271 6.2), hold time negotiation, keepalives at a third of it, and
 * the hold timer ending a silent session (6.5). No sockets, no waiting.
 */
import { Speaker } from '../../../bgp/speaker/speaker';
import { State } from '../../../bgp/fsm/states';
import { buildOpen } from '../../../bgp/session/negotiate';
import { decodeMessage, encodeMessage, keepalive, MessageType, NotificationMessage, OpenMessage } from '../../../bgp/codec';
import { FakeTransport } from '../fuzz/fake-transport';

function setup(holdTime = 90): { speaker: Speaker; t: FakeTransport } {
  const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, holdTime });
  speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
  const t = new FakeTransport();
  speaker.peers.get('10.0.0.2')!.accept(t);
  return { speaker, t };
}

const theirOpen = (over: Partial<OpenMessage> = {}): Buffer =>
  encodeMessage({ ...buildOpen({ asn: 65001, routerId: '10.0.0.2', holdTime: 30, families: ['ipv4-unicast'] }), ...over });
const written = (t: FakeTransport, type: MessageType) => t.written.filter((b) => b[18] === type);
const lastNotification = (t: FakeTransport) => decodeMessage(written(t, MessageType.Notification).pop()!) as NotificationMessage;

describe('session', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sends its OPEN at once on an accepted connection', () => {
    const { t } = setup();
    const open = decodeMessage(written(t, MessageType.Open)[0]!) as OpenMessage;
    expect(open).toMatchObject({ version: 4, myAs: 65000, holdTime: 90, bgpId: '10.0.0.1' });
  });

  it('negotiates the smaller hold time and sends keepalives every third of it', () => {
    const { speaker, t } = setup(90);
    t.push(theirOpen({ holdTime: 30 }));
    t.push(keepalive());
    const peer = speaker.peers.get('10.0.0.2')!;
    expect(peer.state).toBe(State.Established);
    expect(peer.negotiated?.holdTime).toBe(30);
    const before = written(t, MessageType.Keepalive).length;
    // 10 s with jitter: at most 10 s, at least 7.5 s.
    jest.advanceTimersByTime(10000);
    expect(written(t, MessageType.Keepalive).length).toBe(before + 1);
    for (let i = 0; i < 3; i++) {
      jest.advanceTimersByTime(9000);
      t.push(keepalive());
    }
    expect(peer.state).toBe(State.Established);
  });

  it('ends a silent session when the hold timer expires, with NOTIFICATION 4/0', () => {
    const { speaker, t } = setup(90);
    t.push(theirOpen({ holdTime: 30 }));
    t.push(keepalive());
    jest.advanceTimersByTime(29000);
    expect(speaker.peers.get('10.0.0.2')!.state).toBe(State.Established);
    jest.advanceTimersByTime(2000);
    expect(lastNotification(t)).toMatchObject({ code: 4, subcode: 0 });
    expect(t.ended).toBe(true);
    expect(speaker.peers.get('10.0.0.2')!.lastError).toMatch(/hold timer expired/);
  });

  it('ends a session stuck before the OPEN after the large hold time (4 minutes)', () => {
    const { t } = setup();
    jest.advanceTimersByTime(239000);
    expect(written(t, MessageType.Notification)).toHaveLength(0);
    jest.advanceTimersByTime(2000);
    expect(lastNotification(t)).toMatchObject({ code: 4, subcode: 0 });
  });

  it('hold time 0 means no keepalives and no hold timer', () => {
    const { speaker, t } = setup(0);
    t.push(theirOpen({ holdTime: 0 }));
    t.push(keepalive());
    const n = written(t, MessageType.Keepalive).length;
    jest.advanceTimersByTime(3600000);
    expect(written(t, MessageType.Keepalive).length).toBe(n);
    expect(speaker.peers.get('10.0.0.2')!.state).toBe(State.Established);
  });

  it.each<[string, Partial<OpenMessage>, number, number, string]>([
    ['an unsupported version', { version: 3 }, 2, 1, '0004'],
    ['the wrong AS', { myAs: 65099, capabilities: [] }, 2, 2, ''],
    ['hold time 2', { holdTime: 2 }, 2, 6, ''],
    ['BGP identifier 0.0.0.0', { bgpId: '0.0.0.0' }, 2, 3, ''],
  ])('answers an OPEN with %s with NOTIFICATION %i/%i', (_what, over, code, subcode, data) => {
    const { speaker, t } = setup();
    t.push(theirOpen(over));
    const n = lastNotification(t);
    expect([n.code, n.subcode]).toEqual([code, subcode]);
    if (data) expect(n.data.toString('hex')).toBe(data);
    expect(speaker.peers.get('10.0.0.2')!.state).not.toBe(State.Established);
    expect(t.ended).toBe(true);
  });

  it('an iBGP peer using our router ID gets Bad BGP Identifier', () => {
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false });
    speaker.addNeighbor({ address: '10.0.0.3', asn: 65000, passive: true });
    const t = new FakeTransport();
    speaker.peers.get('10.0.0.3')!.accept(t);
    t.push(encodeMessage(buildOpen({ asn: 65000, routerId: '10.0.0.1', holdTime: 90, families: ['ipv4-unicast'] })));
    expect(lastNotification(t)).toMatchObject({ code: 2, subcode: 3 });
  });

  it('an UPDATE before Established is an FSM error (RFC 6608 subcode for OpenSent)', () => {
    const { t } = setup();
    t.push(Buffer.from('ffffffffffffffffffffffffffffffff0017020000000000', 'hex').subarray(0, 23));
    expect(lastNotification(t)).toMatchObject({ code: 5, subcode: 1 });
  });
});
