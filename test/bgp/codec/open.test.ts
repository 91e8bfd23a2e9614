import { decodeMessage, encodeMessage, MessageType, BgpError, OpenMessage, ErrorCode } from '../../../bgp/codec';
import { Bytes, message } from '../../helpers/bytes';

/** kube-router's OPEN from seed 001 (tcpdump of node1 -> node3), rebuilt field by field. */
const kubeRouterOpen = message(
  1,
  new Bytes()
    .u8(4)
    .u16(64512)
    .u16(90)
    .ip('192.168.50.50')
    .u8(41)
    .u8(2, 39) // one Capabilities parameter
    .u8(2, 0) // route refresh
    .u8(73, 7)
    .hex('056e6f646531 00') // FQDN "node1", empty domain
    .u8(1, 4)
    .u16(1)
    .u8(0, 1) // multiprotocol IPv4 unicast
    .u8(65, 4)
    .u32(64512) // 4-octet AS
    .u8(64, 6)
    .u16(90)
    .u16(1)
    .u8(1, 0) // graceful restart, 90 s, IPv4 unicast
    .u8(5, 6)
    .u16(1, 1, 2), // extended next hop: IPv4 unicast over IPv6
);

describe('OPEN', () => {
  it('decodes the OPEN kube-router sends (seed 001)', () => {
    expect(kubeRouterOpen.length).toBe(70); // tcpdump: "Open Message (1), length: 70"
    const m = decodeMessage(kubeRouterOpen) as OpenMessage;
    expect(m).toMatchObject({ type: MessageType.Open, version: 4, myAs: 64512, holdTime: 90, bgpId: '192.168.50.50' });
    expect(m.capabilities).toEqual([
      { kind: 'routeRefresh' },
      { kind: 'fqdn', hostname: 'node1', domain: '' },
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'fourOctetAs', asn: 64512 },
      { kind: 'gracefulRestart', restartFlags: 0, restartTime: 90, families: [{ afi: 1, safi: 1, flags: 0 }] },
      { kind: 'extendedNextHop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
    ]);
  });

  it('re-encodes it byte for byte', () => {
    expect(encodeMessage(decodeMessage(kubeRouterOpen) as OpenMessage).equals(kubeRouterOpen)).toBe(true);
  });

  it('keeps one parameter per capability when the sender used that layout', () => {
    const open = message(1, new Bytes().u8(4).u16(65001).u16(180).ip('10.0.0.1').u8(12).u8(2, 2).u8(2, 0).u8(2, 6).u8(65, 4).u32(65001));
    const m = decodeMessage(open) as OpenMessage;
    expect(m.paramLayout).toEqual([1, 1]);
    expect(encodeMessage(m).equals(open)).toBe(true);
  });

  it('ignores unknown capabilities instead of failing', () => {
    const open = message(1, new Bytes().u8(4).u16(65001).u16(90).ip('10.0.0.1').u8(8).u8(2, 6).u8(200, 4).hex('deadbeef'));
    const m = decodeMessage(open) as OpenMessage;
    expect(m.capabilities).toEqual([{ kind: 'unknown', code: 200, value: Buffer.from('deadbeef', 'hex') }]);
  });

  it('decodes RFC 9072 extended optional parameters', () => {
    const caps = new Bytes().u8(2, 0).build();
    const open = message(
      1,
      new Bytes()
        .u8(4)
        .u16(65001)
        .u16(90)
        .ip('10.0.0.1')
        .u8(255, 255)
        .u16(caps.length + 3)
        .u8(2)
        .u16(caps.length)
        .append(caps),
    );
    const m = decodeMessage(open) as OpenMessage;
    expect(m.extendedParams).toBe(true);
    expect(m.capabilities).toEqual([{ kind: 'routeRefresh' }]);
    expect(encodeMessage(m).equals(open)).toBe(true);
  });

  const cases: [string, Bytes, number, number][] = [
    ['an unsupported optional parameter', new Bytes().u8(4).u16(1).u16(90).ip('1.1.1.1').u8(3).u8(1, 1, 0), 2, 4],
    ['a malformed known capability', new Bytes().u8(4).u16(1).u16(90).ip('1.1.1.1').u8(5).u8(2, 3).u8(65, 1, 0), 2, 0],
    ['a parameter running past the message', new Bytes().u8(4).u16(1).u16(90).ip('1.1.1.1').u8(2).u8(2, 9), 2, 0],
    ['a parameters length that disagrees with the message', new Bytes().u8(4).u16(1).u16(90).ip('1.1.1.1').u8(7).u8(2, 0), 2, 0],
  ];
  it.each(cases)('answers %s with NOTIFICATION %i/%i', (_name, body, code, subcode) => {
    const buf = message(1, body);
    // Pad short bodies to the OPEN minimum so the length check is not what fails.
    const padded = buf.length < 29 ? message(1, Buffer.concat([body.build(), Buffer.alloc(29 - buf.length)])) : buf;
    try {
      decodeMessage(padded);
      throw new Error('decoded');
    } catch (e) {
      expect(e).toBeInstanceOf(BgpError);
      expect([(e as BgpError).code, (e as BgpError).subcode]).toEqual([code, subcode]);
    }
  });

  it('rejects an OPEN shorter than 29 octets as Bad Message Length', () => {
    expect(() => decodeMessage(message(1, new Bytes().u8(4).u16(1)))).toThrow(
      expect.objectContaining({ code: ErrorCode.MessageHeader, subcode: 2 }),
    );
  });
});
