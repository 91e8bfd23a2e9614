/**
 * The route messages we write by hand (batched RTM_NEWROUTE / RTM_DELROUTE) and the dump
 * decoder: what is written decodes to the same route, and a truncated or garbled message from
 * the kernel side yields no route or a partial one, never a throw. The kernel's view of these
 * messages is tested in dataplane.test.ts.
 */
import { decodeRoute, writeRouteChange, type Route, type RouteChange } from '../../src/dataplane/rtnl';

const write = (c: RouteChange, ack = true): Buffer => {
  const buf = Buffer.alloc(256);
  return buf.subarray(0, writeRouteChange(buf, 0, c, 7, 4242, ack));
};

describe('route messages', () => {
  const cases: Route[] = [
    { dst: '10.244.1.0/24', gateway: '192.168.1.2', protocol: 44, table: 254 },
    { dst: '10.244.2.0/24', oif: 9, protocol: 44, table: 254, onLink: true },
    { dst: 'fd00:10:244:1::/64', gateway: 'fd00::2', src: 'fd00::1', protocol: 44, table: 77 },
    { dst: '10.244.3.0/24', gateway: '192.168.1.3', protocol: 44, table: 1000 },
  ];

  it.each(cases)('a replace of $dst decodes back to the same route', (r) => {
    const msg = write({ op: 'replace', route: r });
    expect(msg.readUInt32LE(0)).toBe(msg.length);
    expect(msg.readUInt16LE(4)).toBe(24); // RTM_NEWROUTE
    expect(msg.readUInt16LE(6)).toBe(0x1 | 0x4 | 0x400 | 0x100); // REQUEST | ACK | CREATE | REPLACE
    expect(msg.readUInt32LE(8)).toBe(7);
    expect(msg.readUInt32LE(12)).toBe(4242);
    const { onLink, ...rest } = r;
    expect(decodeRoute(msg.subarray(16))).toEqual({ ...rest, ...(onLink || !r.gateway ? { onLink: true } : {}) });
  });

  it('a delete matches any scope, names no gateway, and asks for an acknowledgement only when told', () => {
    const msg = write({ op: 'delete', route: { dst: '10.244.1.0/24', protocol: 44, table: 254 } }, false);
    expect(msg.readUInt16LE(4)).toBe(25); // RTM_DELROUTE
    expect(msg.readUInt16LE(6)).toBe(0x1);
    expect(msg[16 + 6]).toBe(255); // RT_SCOPE_NOWHERE, as `ip route del`
    expect(decodeRoute(msg.subarray(16))).toEqual({ dst: '10.244.1.0/24', protocol: 44, table: 254 });
  });

  it('decodes garbage without throwing: short, unknown family, attributes running past the end', () => {
    expect(decodeRoute(Buffer.alloc(5))).toBeUndefined();
    expect(decodeRoute(Buffer.from([7, 24, 0, 0, 254, 44, 0, 1, 0, 0, 0, 0]))).toBeUndefined();
    const msg = Buffer.from(write({ op: 'replace', route: cases[0]! }).subarray(16));
    msg.writeUInt16LE(200, 12 + 8); // the gateway attribute claims more bytes than there are
    expect(decodeRoute(msg)).toEqual({ dst: '10.244.1.0/24', protocol: 44, table: 254 });
    for (let n = 0; n < msg.length; n++) expect(() => decodeRoute(msg.subarray(0, n))).not.toThrow();
  });
});
