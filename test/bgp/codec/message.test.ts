import {
  decodeMessage,
  encodeMessage,
  Framer,
  BgpError,
  keepalive,
  MessageType,
  notification,
  routeRefresh,
  RouteRefreshMessage,
} from '../../../bgp/codec';
import { Bytes, message } from '../../helpers/bytes';

function errorOf(f: () => unknown): BgpError {
  try {
    f();
  } catch (e) {
    if (e instanceof BgpError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('message header', () => {
  it('KEEPALIVE is the bare 19-octet header', () => {
    expect(keepalive()).toEqual(new Bytes().hex('ff'.repeat(16)).u16(19).u8(4).build());
    expect(decodeMessage(keepalive())).toEqual({ type: MessageType.Keepalive });
  });

  it('a marker that is not all ones: Connection Not Synchronized', () => {
    const buf = keepalive();
    buf[3] = 0;
    expect([errorOf(() => decodeMessage(buf)).code, errorOf(() => decodeMessage(buf)).subcode]).toEqual([1, 1]);
  });

  it.each([
    ['shorter than a header', 18, 4],
    ['longer than 4096', 4097, 2],
    ['a KEEPALIVE of 20 octets', 20, 4],
    ['an OPEN of 28 octets', 28, 1],
    ['an UPDATE of 22 octets', 22, 2],
    ['a NOTIFICATION of 20 octets', 20, 3],
  ])('%s: Bad Message Length with the length as data', (_n, length, type) => {
    const buf = new Bytes().hex('ff'.repeat(16)).u16(length).u8(type).build();
    const e = errorOf(() => new Framer().push(buf));
    expect([e.code, e.subcode]).toEqual([1, 2]);
    expect(e.data).toEqual(Buffer.from([length >> 8, length & 0xff]));
  });

  it('an unknown type: Bad Message Type with the type as data', () => {
    const e = errorOf(() => decodeMessage(message(9, Buffer.alloc(4))));
    expect([e.code, e.subcode, e.data[0]]).toEqual([1, 3, 9]);
  });

  it('NOTIFICATION round-trips with its data', () => {
    const buf = encodeMessage(notification(6, 2, Buffer.from('bye')));
    expect(buf).toEqual(message(3, new Bytes().u8(6, 2).append(Buffer.from('bye'))));
    expect(decodeMessage(buf)).toEqual({ type: MessageType.Notification, code: 6, subcode: 2, data: Buffer.from('bye') });
  });

  it('ROUTE-REFRESH round-trips, with the RFC 7313 subtype', () => {
    const buf = encodeMessage(routeRefresh(2, 1, 1));
    expect(buf).toEqual(message(5, new Bytes().u16(2).u8(1, 1)));
    expect(decodeMessage(buf)).toEqual<RouteRefreshMessage>({ type: MessageType.RouteRefresh, afi: 2, safi: 1, subtype: 1 });
  });

  it('a ROUTE-REFRESH of 24 octets: ROUTE-REFRESH error 7/1 carrying the message', () => {
    const buf = message(5, new Bytes().u16(1).u8(0, 1, 0));
    const e = errorOf(() => decodeMessage(buf));
    expect([e.code, e.subcode]).toEqual([7, 1]);
    expect(e.data).toEqual(buf);
  });
});

describe('Framer', () => {
  const stream = Buffer.concat([keepalive(), encodeMessage(notification(6, 4)), encodeMessage(routeRefresh(1, 1))]);

  it('splits a stream cut at any point, keeping partial messages', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      for (const cut2 of [cut, Math.min(stream.length, cut + 7)]) {
        const f = new Framer();
        const out = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut, cut2)), ...f.push(stream.subarray(cut2))];
        expect(out.map((m) => m.toString('hex'))).toEqual(
          [keepalive(), encodeMessage(notification(6, 4)), encodeMessage(routeRefresh(1, 1))].map((m) => m.toString('hex')),
        );
        expect(f.buffered).toBe(0);
      }
    }
  });

  it('feeds byte by byte', () => {
    const f = new Framer();
    const out: Buffer[] = [];
    for (const b of stream) out.push(...f.push(Buffer.from([b])));
    expect(out.length).toBe(3);
  });

  it('rejects a bad header as soon as 19 octets are in, without waiting for the body', () => {
    const f = new Framer();
    const head = new Bytes().hex('ff'.repeat(16)).u16(9000).u8(2).build();
    expect(() => f.push(head)).toThrow(BgpError);
  });
});
