/**
 * Graceful restart (RFC 4724) in the speaker, driven by hand over in-memory transports:
 * - as the restarting speaker: a graceful stop closes every session without a NOTIFICATION, and
 *   OPENs carry R=1 (and F=1 when forwarding is preserved) until the restart is complete;
 * - as the helper: a new OPEN with graceful restart from a peer whose session we still hold
 *   Established is that peer's restart (4.2): the old session ends quietly, its routes stay stale
 *   until End-of-RIB, and what it did not announce again then goes. Without graceful restart
 *   negotiated, such a connection is refused (RFC 4271 6.8) and the session goes on.
 */
import { Speaker } from '../../../bgp/speaker/speaker';
import { State } from '../../../bgp/fsm/states';
import { decodeMessage, encodeMessage, keepalive, MessageType, OpenMessage } from '../../../bgp/codec';
import { ipv4Update } from '../../helpers/updates';
import { establishFake } from '../../helpers/fake-peer';
import { FakeTransport } from '../fuzz/fake-transport';

const GR = { restartTime: 120, restarting: false, preserved: true };
const endOfRib = (): Buffer => encodeMessage({ type: MessageType.Update, withdrawn: [], nlri: [], attributes: [] }, { as4: true });
const types = (t: FakeTransport): number[] => t.written.map((b) => b[18]!);
const grCapability = (t: FakeTransport) => {
  const open = decodeMessage(t.written.find((b) => b[18] === MessageType.Open)!) as OpenMessage;
  return open.capabilities.find((c) => c.kind === 'gracefulRestart') as
    { restartFlags: number; restartTime: number; families: { flags: number }[] } | undefined;
};
const has = (speaker: Speaker, prefix: string): boolean => !!speaker.rib.destination(prefix)?.best;

describe('graceful restart in the speaker', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('a graceful stop closes every session without NOTIFICATION; a plain stop sends Cease', async () => {
    for (const graceful of [true, false]) {
      const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, gracefulRestart: GR });
      speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
      const t = establishFake(speaker, { address: '10.0.0.2', asn: 65001, gracefulRestart: GR });
      await speaker.stop({ graceful });
      expect(t.destroyed || t.ended).toBe(true);
      expect(types(t).includes(MessageType.Notification)).toBe(!graceful);
      expect(speaker.peers.get('10.0.0.2')!.state).toBe(State.Idle);
    }
  });

  it('a graceful stop without graceful restart configured still sends Cease', async () => {
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
    const t = establishFake(speaker, { address: '10.0.0.2', asn: 65001 });
    await speaker.stop({ graceful: true });
    expect(types(t)).toContain(MessageType.Notification);
  });

  it('OPENs carry R=1 and F=1 while restarting, R=0 after restartComplete()', () => {
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, gracefulRestart: { ...GR, restarting: true } });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true, families: ['ipv4-unicast', 'ipv6-unicast'] });
    const first = establishFake(speaker, { address: '10.0.0.2', asn: 65001, gracefulRestart: GR });
    const cap = grCapability(first)!;
    expect(cap.restartFlags & 0x8).toBe(0x8);
    expect(cap.restartTime).toBe(120);
    expect(cap.families.map((f) => f.flags & 0x80)).toEqual([0x80, 0x80]);
    expect(speaker.restarting).toBe(true);
    speaker.restartComplete();
    expect(speaker.restarting).toBe(false);
    speaker.addNeighbor({ address: '10.0.0.3', asn: 65003, passive: true });
    const later = establishFake(speaker, { address: '10.0.0.3', asn: 65003, gracefulRestart: GR });
    expect(grCapability(later)!.restartFlags & 0x8).toBe(0);
    void speaker.stop();
  });

  it('helper: a new OPEN with GR while Established ends the old session quietly and keeps its routes stale until End-of-RIB', () => {
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, gracefulRestart: GR });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
    const old = establishFake(speaker, { address: '10.0.0.2', asn: 65001, gracefulRestart: GR });
    old.push(ipv4Update(['10.1.0.0/16', '10.2.0.0/16'], { asn: 65001, nextHop: '10.0.0.2' }));
    expect(has(speaker, '10.1.0.0/16') && has(speaker, '10.2.0.0/16')).toBe(true);

    // The peer rebooted: its old TCP connection never closed, a new one arrives.
    const fresh = establishFake(speaker, { address: '10.0.0.2', asn: 65001, gracefulRestart: { ...GR, restarting: true } });
    expect(old.destroyed || old.ended).toBe(true);
    expect(types(old)).not.toContain(MessageType.Notification);
    expect(types(fresh)).not.toContain(MessageType.Notification);
    const peer = speaker.peers.get('10.0.0.2')!;
    expect(peer.state).toBe(State.Established);
    expect(peer.connections.size).toBe(1);
    // Stale, still best, until End-of-RIB.
    expect(has(speaker, '10.1.0.0/16') && has(speaker, '10.2.0.0/16')).toBe(true);
    fresh.push(ipv4Update(['10.2.0.0/16'], { asn: 65001, nextHop: '10.0.0.2' }));
    fresh.push(endOfRib());
    expect(has(speaker, '10.1.0.0/16')).toBe(false);
    expect(has(speaker, '10.2.0.0/16')).toBe(true);
    void speaker.stop();
  });

  it('helper: stale routes go when the restarted peer sends no End-of-RIB in time', () => {
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, gracefulRestart: GR });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
    const old = establishFake(speaker, { address: '10.0.0.2', asn: 65001, gracefulRestart: GR });
    old.push(ipv4Update(['10.1.0.0/16'], { asn: 65001, nextHop: '10.0.0.2' }));
    const fresh = establishFake(speaker, { address: '10.0.0.2', asn: 65001, gracefulRestart: GR });
    // Keepalives keep the new session up; only the End-of-RIB never comes.
    for (let s = 0; s < 300; s += 30) {
      fresh.push(keepalive());
      jest.advanceTimersByTime(30000);
    }
    expect(speaker.peers.get('10.0.0.2')!.state).toBe(State.Established);
    expect(has(speaker, '10.1.0.0/16')).toBe(true);
    fresh.push(keepalive());
    jest.advanceTimersByTime(30000);
    fresh.push(keepalive());
    jest.advanceTimersByTime(31000);
    expect(has(speaker, '10.1.0.0/16')).toBe(false);
    void speaker.stop();
  });

  it('hostile: with graceful restart negotiated, a storm of connections or an OPEN without it leaves the session up', () => {
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, gracefulRestart: GR });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
    const old = establishFake(speaker, { address: '10.0.0.2', asn: 65001, gracefulRestart: GR });
    old.push(ipv4Update(['10.1.0.0/16'], { asn: 65001, nextHop: '10.0.0.2' }));
    const peer = speaker.peers.get('10.0.0.2')!;
    // One connection that never sends its OPEN takes the one spare slot; the rest are refused.
    const storm = Array.from({ length: 50 }, () => Object.assign(new FakeTransport(), { remoteAddress: '10.0.0.2' }));
    for (const t of storm) peer.accept(t);
    expect(peer.connections.size).toBe(2);
    expect(peer.counters.connectionsRefused).toBe(49);
    expect(old.destroyed || old.ended).toBe(false);
    expect(peer.established).toBeDefined();
    expect(has(speaker, '10.1.0.0/16')).toBe(true);
    void speaker.stop();
  });

  it('hostile: an OPEN without graceful restart beside a session that negotiated it is no restart: it loses, the session stays', () => {
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, gracefulRestart: GR });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
    const old = establishFake(speaker, { address: '10.0.0.2', asn: 65001, gracefulRestart: GR });
    old.push(ipv4Update(['10.1.0.0/16'], { asn: 65001, nextHop: '10.0.0.2' }));
    const peer = speaker.peers.get('10.0.0.2')!;
    const plain = establishFake(speaker, { address: '10.0.0.2', asn: 65001 });
    expect(peer.counters.connectionsRefused).toBe(0); // it ran, and its OPEN decided
    expect(types(plain)).toContain(MessageType.Notification);
    expect(old.destroyed || old.ended).toBe(false);
    expect(peer.connections.size).toBe(1);
    expect(has(speaker, '10.1.0.0/16')).toBe(true);
    void speaker.stop();
  });

  it('without graceful restart negotiated, a connection beside the Established session is refused', () => {
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, gracefulRestart: GR });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
    const old = establishFake(speaker, { address: '10.0.0.2', asn: 65001 });
    old.push(ipv4Update(['10.1.0.0/16'], { asn: 65001, nextHop: '10.0.0.2' }));
    expect(() => establishFake(speaker, { address: '10.0.0.2', asn: 65001, gracefulRestart: GR })).not.toThrow();
    const peer = speaker.peers.get('10.0.0.2')!;
    expect(peer.counters.connectionsRefused).toBe(1);
    expect(old.destroyed || old.ended).toBe(false);
    expect(has(speaker, '10.1.0.0/16')).toBe(true);
    void speaker.stop();
  });
});
