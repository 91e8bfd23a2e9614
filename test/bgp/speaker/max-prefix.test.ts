/**
 * Max-prefix (RFC 4271 8.1.2, RFC 4486 Cease subcode 1): a neighbour may hold at most N paths
 * per family. A warning at 75 %; over the limit the session ends with a NOTIFICATION carrying
 * AFI, SAFI and the limit, its routes go, and it stays down (incoming connections included) for
 * the restart interval. The routes over the limit never reach the RIB or other peers.
 */
import { Speaker } from '../../../bgp/speaker/speaker';
import { prefixText } from '../../../net';
import { State } from '../../../bgp/fsm/states';
import { decodeMessage, MessageType, NotificationMessage, ReceivedUpdate } from '../../../bgp/codec';
import { ipv4Update } from '../../helpers/updates';
import { establishFake } from '../../helpers/fake-peer';
import { captureLogger, type LogLine } from '../../helpers/capture-logger';
import { FakeTransport } from '../fuzz/fake-transport';

const update = (prefixes: string[]): Buffer => ipv4Update(prefixes, { asn: 65001, nextHop: '10.0.0.2' });
const nets = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `10.${from + i}.0.0/16`);

describe('max-prefix', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('warns at 75 %, closes with Cease/1 (AFI, SAFI, limit) over the limit, drops the routes and stays down for the restart interval', async () => {
    const { log, lines } = captureLogger();
    const warnings = (): LogLine[] => lines.filter((l) => l.level === 'warn');
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false, log });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true, maxPrefixes: 10, maxPrefixesRestart: 30 });
    speaker.addNeighbor({ address: '10.0.0.3', asn: 65003, passive: true });
    const a = establishFake(speaker, { address: '10.0.0.2', asn: 65001, families: ['ipv4-unicast'] });
    const other = establishFake(speaker, { address: '10.0.0.3', asn: 65003, families: ['ipv4-unicast'] });
    const peer = speaker.peers.get('10.0.0.2')!;
    a.push(update(nets(1, 7)));
    expect(warnings().filter((w) => w.obj.event === 'maxPrefixes')).toEqual([]);
    a.push(update(nets(8, 1)));
    a.push(update(nets(1, 8))); // the same again: no new prefixes, no second warning
    expect(
      warnings()
        .filter((w) => w.obj.event === 'maxPrefixes')
        .map((w) => w.msg),
    ).toEqual(['neighbour is at 80 % of its ipv4-unicast prefix limit']);
    expect(speaker.rib.received('10.0.0.2', 'ipv4-unicast')).toBe(8);
    jest.advanceTimersByTime(1); // let the 8 routes reach the other peer
    const before = other.written.length;
    a.push(update(nets(20, 3)));
    // The NOTIFICATION: Cease / Maximum Number of Prefixes Reached, AFI 1, SAFI 1, limit 10.
    const n = decodeMessage(a.written.filter((b) => b[18] === MessageType.Notification).pop()!) as NotificationMessage;
    expect([n.code, n.subcode, n.data.toString('hex')]).toEqual([6, 1, '0001' + '01' + '0000000a']);
    expect(peer.state).not.toBe(State.Established);
    expect(speaker.rib.received('10.0.0.2', 'ipv4-unicast')).toBe(0);
    expect(speaker.rib.destination('10.20.0.0/16')).toBeUndefined();
    jest.advanceTimersByTime(1);
    // The other peer never heard of the three over the limit, and lost the eight.
    const toOther = other.written
      .slice(before)
      .filter((b) => b[18] === MessageType.Update)
      .map((b) => decodeMessage(b) as ReceivedUpdate);
    expect(toOther.flatMap((u) => u.nlri)).toEqual([]);
    expect(toOther.flatMap((u) => u.withdrawn.map(prefixText)).sort()).toEqual(nets(1, 8).sort());
    expect(warnings().some((w) => /sent 11 ipv4-unicast prefixes, over its limit of 10: closing the session for 30 s/.test(w.msg))).toBe(
      true,
    );

    // Down for 30 s: a new connection from it is refused at once.
    const early = new FakeTransport();
    peer.accept(early);
    expect(early.destroyed).toBe(true);
    jest.advanceTimersByTime(31000);
    const back = establishFake(speaker, { address: '10.0.0.2', asn: 65001, families: ['ipv4-unicast'] });
    expect(peer.state).toBe(State.Established);
    back.push(update(nets(1, 5)));
    expect(speaker.rib.received('10.0.0.2', 'ipv4-unicast')).toBe(5);
    await speaker.stop();
  });

  it('a lower limit applies in place: no restart when it still holds, a Cease when it no longer does', async () => {
    const speaker = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false });
    speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true, maxPrefixes: 100 });
    const a = establishFake(speaker, { address: '10.0.0.2', asn: 65001, families: ['ipv4-unicast'] });
    const peer = speaker.peers.get('10.0.0.2')!;
    a.push(update(nets(1, 20)));
    speaker.setPrefixLimit('10.0.0.2', 50);
    expect(peer.state).toBe(State.Established);
    expect(peer.flaps).toBe(0);
    speaker.setPrefixLimit('10.0.0.2', 10);
    expect(peer.state).not.toBe(State.Established);
    await speaker.stop();
  });
});
