import {
  decodeMessage,
  encodeMessage,
  ReceivedUpdate,
  UpdateMessage,
  BgpError,
  ErrorAction,
  MessageType,
  CodecContext,
} from '../../../bgp/codec';
import { Bytes, update } from '../../helpers/bytes';
import { ipv4PrefixKey, prefixText } from '../../../net';

const AS4: CodecContext = { as4: true };
const AS2: CodecContext = { as4: false };

/** The UPDATE kube-router sends for its pod CIDR (seed 001: length 48). */
const seedAttrs = () =>
  new Bytes()
    .u8(0x40, 1, 1, 0) // ORIGIN IGP
    .u8(0x40, 2, 0) // AS_PATH empty
    .u8(0x40, 3, 4)
    .ip('192.168.50.50') // NEXT_HOP
    .u8(0x40, 5, 4)
    .u32(100); // LOCAL_PREF
const seedUpdate = update(new Bytes(), seedAttrs(), new Bytes().u8(24, 10, 233, 64));

/** Decoded, with the classic fields' prefixes as text (they come as numbers: PrefixKey). */
function decode(buf: Buffer, ctx: CodecContext = AS4): ReceivedUpdate {
  const u = decodeMessage(buf, ctx) as ReceivedUpdate;
  return { ...u, withdrawn: u.withdrawn.map(prefixText), nlri: u.nlri.map(prefixText) };
}

function expectNotification(buf: Buffer, code: number, subcode: number, ctx: CodecContext = AS4): BgpError {
  try {
    decodeMessage(buf, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(BgpError);
    expect([(e as BgpError).code, (e as BgpError).subcode]).toEqual([code, subcode]);
    return e as BgpError;
  }
  throw new Error('expected a NOTIFICATION error');
}

const base = {
  origin: () => new Bytes().u8(0x40, 1, 1, 0),
  path: () => new Bytes().u8(0x40, 2, 0),
  nh: () => new Bytes().u8(0x40, 3, 4).ip('10.0.0.1'),
};
const nlri24 = () => new Bytes().u8(24, 10, 1, 2);
const mandatory = () => new Bytes().append(base.origin().build()).append(base.path().build()).append(base.nh().build());

describe('UPDATE', () => {
  it('gives the IPv4 prefixes of the classic fields as numbers (PrefixKey), host bits cleared', () => {
    const u = decodeMessage(
      update(new Bytes().u8(16, 10, 9), mandatory(), new Bytes().u8(23, 10, 1, 3, 0, 32, 1, 2, 3, 4)),
      AS4,
    ) as ReceivedUpdate;
    expect(u.withdrawn).toEqual([ipv4PrefixKey('10.9.0.0/16')]);
    expect(u.nlri).toEqual([ipv4PrefixKey('10.1.2.0/23'), ipv4PrefixKey('0.0.0.0/0'), ipv4PrefixKey('1.2.3.4/32')]);
  });

  it('decodes the seed UPDATE kube-router advertises its pod CIDR with', () => {
    expect(seedUpdate.length).toBe(48);
    const u = decode(seedUpdate);
    expect(u.action).toBe(ErrorAction.None);
    expect(u.nlri).toEqual(['10.233.64.0/24']);
    expect(u.withdrawn).toEqual([]);
    expect(u.attributes).toEqual([
      { kind: 'origin', flags: 0x40, origin: 0 },
      { kind: 'asPath', flags: 0x40, segments: [] },
      { kind: 'nextHop', flags: 0x40, nextHop: '192.168.50.50' },
      { kind: 'localPref', flags: 0x40, localPref: 100 },
    ]);
    expect(encodeMessage(u).equals(seedUpdate)).toBe(true);
  });

  it('encodes every attribute it decodes, byte for byte', () => {
    const attrs = new Bytes()
      .u8(0x40, 1, 1, 2)
      .u8(0x40, 2, 16)
      .u8(2, 2)
      .u32(65001, 4200000001)
      .u8(1, 1)
      .u32(65100) // sequence + set
      .u8(0x40, 3, 4)
      .ip('10.0.0.1')
      .u8(0x80, 4, 4)
      .u32(50)
      .u8(0x40, 6, 0)
      .u8(0xc0, 7, 8)
      .u32(65001)
      .ip('10.0.0.9')
      .u8(0xc0, 8, 8)
      .u32(0xfde80001, 0xffffff01)
      .u8(0x80, 9, 4)
      .ip('1.1.1.1')
      .u8(0x80, 10, 8)
      .ip('2.2.2.2')
      .ip('3.3.3.3')
      .u8(0xc0, 16, 8)
      .hex('0002fde800000064')
      .u8(0xc0, 32, 12)
      .u32(4200000001, 1, 2)
      .u8(0xe0, 99, 3)
      .hex('abcdef'); // unknown optional transitive, partial
    const buf = update(new Bytes().u8(16, 10, 9), attrs, nlri24());
    const u = decode(buf);
    expect(u.action).toBe(ErrorAction.None);
    expect(u.withdrawn).toEqual(['10.9.0.0/16']);
    const byKind = Object.fromEntries(u.attributes.map((a) => [a.kind, a]));
    expect(byKind.asPath).toMatchObject({
      segments: [
        { type: 2, asns: [65001, 4200000001] },
        { type: 1, asns: [65100] },
      ],
    });
    expect(byKind.aggregator).toMatchObject({ asn: 65001, address: '10.0.0.9' });
    expect(byKind.communities).toMatchObject({ communities: [0xfde80001, 0xffffff01] });
    expect(byKind.clusterList).toMatchObject({ clusterIds: ['2.2.2.2', '3.3.3.3'] });
    expect(byKind.largeCommunities).toMatchObject({ communities: [[4200000001, 1, 2]] });
    expect(byKind.unknown).toMatchObject({ code: 99, flags: 0xe0 });
    expect(encodeMessage(u).equals(buf)).toBe(true);
  });

  it('reads 2-octet AS_PATH and AGGREGATOR from a peer without the 4-octet AS capability', () => {
    const attrs = mandatory()
      .u8(0xc0, 7, 6)
      .u16(23456)
      .ip('10.0.0.9')
      .u8(0xc0, 17, 6)
      .u8(2, 1)
      .u32(4200000001)
      .u8(0xc0, 18, 8)
      .u32(4200000001)
      .ip('10.0.0.9');
    const pathAttrs = new Bytes().u8(0x40, 1, 1, 0).u8(0x40, 2, 6).u8(2, 2).u16(23456, 65002).u8(0x40, 3, 4).ip('10.0.0.1');
    const buf = update(new Bytes(), Buffer.concat([pathAttrs.build(), attrs.build().subarray(mandatory().length)]), nlri24());
    const u = decode(buf, AS2);
    expect(u.action).toBe(ErrorAction.None);
    const byKind = Object.fromEntries(u.attributes.map((a) => [a.kind, a]));
    expect(byKind.asPath).toMatchObject({ segments: [{ type: 2, asns: [23456, 65002] }] });
    expect(byKind.aggregator).toMatchObject({ asn: 23456 });
    expect(byKind.as4Path).toMatchObject({ segments: [{ type: 2, asns: [4200000001] }] });
    expect(byKind.as4Aggregator).toMatchObject({ asn: 4200000001 });
    expect(encodeMessage(u, AS2).equals(buf)).toBe(true);
  });

  it('encodes a 4-octet ASN as AS_TRANS toward a 2-octet peer', () => {
    const u: UpdateMessage = {
      type: MessageType.Update,
      withdrawn: [],
      nlri: ['10.1.2.0/24'],
      attributes: [
        { kind: 'origin', flags: 0x40, origin: 0 },
        { kind: 'asPath', flags: 0x40, segments: [{ type: 2, asns: [4200000001, 65002] }] },
        { kind: 'nextHop', flags: 0x40, nextHop: '10.0.0.1' },
      ],
    };
    const expected = update(
      new Bytes(),
      new Bytes().u8(0x40, 1, 1, 0).u8(0x40, 2, 6).u8(2, 2).u16(23456, 65002).u8(0x40, 3, 4).ip('10.0.0.1'),
      nlri24(),
    );
    expect(encodeMessage(u, AS2).equals(expected)).toBe(true);
  });

  it('decodes IPv6 MP_REACH with global and link-local next hops, and MP_UNREACH', () => {
    const mp = new Bytes()
      .u16(2)
      .u8(1)
      .u8(32)
      .hex('fd000099000000000000000000000001')
      .hex('fe80000000000000a826a1fffe7072ce')
      .u8(0)
      .u8(64)
      .hex('fd50000000000000');
    const unreach = new Bytes().u16(2).u8(1).u8(48).hex('20010db80001');
    const attrs = new Bytes()
      .append(base.origin().build())
      .append(base.path().build())
      .u8(0x80, 14, mp.length)
      .append(mp.build())
      .u8(0x80, 15, unreach.length)
      .append(unreach.build());
    const buf = update(new Bytes(), attrs);
    const u = decode(buf);
    expect(u.action).toBe(ErrorAction.None);
    expect(u.attributes.find((a) => a.kind === 'mpReach')).toMatchObject({
      afi: 2,
      safi: 1,
      nextHops: ['fd00:99::1', 'fe80::a826:a1ff:fe70:72ce'],
      nlri: ['fd50::/64'],
    });
    expect(u.attributes.find((a) => a.kind === 'mpUnreach')).toMatchObject({ withdrawn: ['2001:db8:1::/48'] });
    expect(encodeMessage(u).equals(buf)).toBe(true);
  });

  it('keeps MP attributes of families it does not parse as opaque bytes', () => {
    const mp = new Bytes().u16(25).u8(70).hex('0102030405');
    const buf = update(new Bytes(), new Bytes().u8(0x80, 14, mp.length).append(mp.build()));
    const u = decode(buf);
    expect(u.attributes[0]).toMatchObject({ kind: 'mpReach', afi: 25, safi: 70 });
    expect(encodeMessage(u).equals(buf)).toBe(true);
  });

  it('clears host bits of a prefix and accepts a /0', () => {
    const u = decode(update(new Bytes(), mandatory(), new Bytes().u8(23, 10, 1, 3).u8(0)));
    expect(u.nlri).toEqual(['10.1.2.0/23', '0.0.0.0/0']);
  });

  describe('RFC 7606 outcomes', () => {
    const withAttr = (extra: Bytes, nlri: Bytes = nlri24()) => update(new Bytes(), mandatory().append(extra.build()), nlri);
    const cases: [string, () => Buffer, ErrorAction, string[]][] = [
      [
        'ORIGIN of length 2',
        () => update(new Bytes(), new Bytes().u8(0x40, 1, 2, 0, 0).append(base.path().build()).append(base.nh().build()), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'undefined ORIGIN value',
        () => update(new Bytes(), new Bytes().u8(0x40, 1, 1, 3).append(base.path().build()).append(base.nh().build()), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'ORIGIN flagged optional',
        () => update(new Bytes(), new Bytes().u8(0xc0, 1, 1, 0).append(base.path().build()).append(base.nh().build()), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'AS_PATH with an unknown segment type',
        () =>
          update(new Bytes(), new Bytes().append(base.origin().build()).u8(0x40, 2, 6, 5, 1).u32(1).append(base.nh().build()), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'AS_PATH with an empty segment',
        () => update(new Bytes(), new Bytes().append(base.origin().build()).u8(0x40, 2, 2, 2, 0).append(base.nh().build()), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'AS_PATH segment overrunning the attribute',
        () =>
          update(new Bytes(), new Bytes().append(base.origin().build()).u8(0x40, 2, 6, 2, 2).u32(1).append(base.nh().build()), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'AS_PATH with a stray trailing octet',
        () =>
          update(
            new Bytes(),
            new Bytes().append(base.origin().build()).u8(0x40, 2, 7, 2, 1).u32(1).u8(9).append(base.nh().build()),
            nlri24(),
          ),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'NEXT_HOP of length 5',
        () =>
          update(
            new Bytes(),
            new Bytes().append(base.origin().build()).append(base.path().build()).u8(0x40, 3, 5, 1, 2, 3, 4, 5),
            nlri24(),
          ),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      ['MED of length 3', () => withAttr(new Bytes().u8(0x80, 4, 3, 0, 0, 1)), ErrorAction.TreatAsWithdraw, ['med']],
      ['LOCAL_PREF of length 2', () => withAttr(new Bytes().u8(0x40, 5, 2, 0, 1)), ErrorAction.TreatAsWithdraw, ['localPref']],
      ['ATOMIC_AGGREGATE of length 1', () => withAttr(new Bytes().u8(0x40, 6, 1, 0)), ErrorAction.AttributeDiscard, ['atomicAggregate']],
      [
        'AGGREGATOR of length 7',
        () => withAttr(new Bytes().u8(0xc0, 7, 7).u32(1).u8(1, 2, 3)),
        ErrorAction.AttributeDiscard,
        ['aggregator'],
      ],
      ['COMMUNITIES of length 6', () => withAttr(new Bytes().u8(0xc0, 8, 6).u32(1).u16(2)), ErrorAction.TreatAsWithdraw, ['communities']],
      [
        'COMMUNITIES flagged non-transitive',
        () => withAttr(new Bytes().u8(0x80, 8, 4).u32(1)),
        ErrorAction.TreatAsWithdraw,
        ['communities'],
      ],
      ['ORIGINATOR_ID of length 3', () => withAttr(new Bytes().u8(0x80, 9, 3, 1, 2, 3)), ErrorAction.TreatAsWithdraw, ['originatorId']],
      [
        'CLUSTER_LIST of length 5',
        () => withAttr(new Bytes().u8(0x80, 10, 5, 1, 2, 3, 4, 5)),
        ErrorAction.TreatAsWithdraw,
        ['clusterList'],
      ],
      [
        'LARGE_COMMUNITIES of length 8',
        () => withAttr(new Bytes().u8(0xc0, 32, 8).u32(1, 2)),
        ErrorAction.TreatAsWithdraw,
        ['largeCommunities'],
      ],
      ['AS4_PATH with an empty segment', () => withAttr(new Bytes().u8(0xc0, 17, 2, 2, 0)), ErrorAction.AttributeDiscard, ['as4Path']],
      [
        'a missing ORIGIN',
        () => update(new Bytes(), new Bytes().append(base.path().build()).append(base.nh().build()), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'a missing NEXT_HOP with classic NLRI',
        () => update(new Bytes(), new Bytes().append(base.origin().build()).append(base.path().build()), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'an attribute overrunning the attribute field',
        () => update(new Bytes(), mandatory().u8(0xc0, 8, 40).u32(1), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'two stray octets after the last attribute',
        () => update(new Bytes(), mandatory().u8(0xc0, 8), nlri24()),
        ErrorAction.TreatAsWithdraw,
        [],
      ],
      [
        'a duplicate MED (the second is dropped)',
        () => withAttr(new Bytes().u8(0x80, 4, 4).u32(1).u8(0x80, 4, 4).u32(2)),
        ErrorAction.None,
        [],
      ],
    ];
    it.each(cases)('%s', (_name, build, action, absent) => {
      const u = decode(build());
      expect(u.action).toBe(action);
      expect(u.problems.length).toBeGreaterThan(0);
      for (const kind of absent) expect(u.attributes.some((a) => a.kind === kind)).toBe(false);
      // Whatever the outcome, NLRI are still located and parsed.
      expect(u.nlri).toEqual(['10.1.2.0/24']);
    });

    it('an UPDATE with only withdrawals needs no attributes', () => {
      const u = decode(update(new Bytes().u8(24, 10, 1, 2), new Bytes()));
      expect(u.action).toBe(ErrorAction.None);
      expect(u.withdrawn).toEqual(['10.1.2.0/24']);
    });

    it('MP_REACH with an impossible next hop length withdraws its NLRI', () => {
      const mp = new Bytes().u16(2).u8(1).u8(5).u8(1, 2, 3, 4, 5).u8(0).u8(64).hex('fd50000000000000');
      const u = decode(
        update(
          new Bytes(),
          new Bytes().append(base.origin().build()).append(base.path().build()).u8(0x80, 14, mp.length).append(mp.build()),
        ),
      );
      expect(u.action).toBe(ErrorAction.TreatAsWithdraw);
      expect(u.withdrawnByError).toEqual([{ afi: 2, safi: 1, nlri: ['fd50::/64'] }]);
    });

    it('a repeated type code is dropped, whatever its range; codes that differ are kept', () => {
      // 30, 62, 94 (and 31, 63, 95) share their low five bits; 64 and 200 are past the bit fields.
      const codes = [30, 62, 94, 31, 63, 95, 64, 200];
      const attrs = new Bytes();
      for (const code of [...codes, ...codes]) attrs.u8(0xc0, code, 1, code & 0xff);
      const u = decode(withAttr(attrs));
      expect(u.action).toBe(ErrorAction.None);
      expect(u.attributes.filter((a) => a.kind === 'unknown').map((a) => a.kind === 'unknown' && a.code)).toEqual(codes);
      expect(u.problems.map((p) => p.code)).toEqual(codes);
    });

    it('keeps unknown optional transitive attributes and drops unknown non-transitive ones', () => {
      const u = decode(withAttr(new Bytes().u8(0xc0, 200, 2, 1, 2).u8(0x80, 201, 1, 7)));
      expect(u.action).toBe(ErrorAction.None);
      expect(u.attributes.filter((a) => a.kind === 'unknown')).toEqual([
        { kind: 'unknown', flags: 0xc0, code: 200, value: Buffer.from([1, 2]) },
      ]);
    });
  });

  describe('session resets', () => {
    it('withdrawn routes length beyond the message: Malformed Attribute List', () => {
      const buf = update(new Bytes(), new Bytes());
      buf.writeUInt16BE(50, 19);
      expectNotification(buf, 3, 1);
    });
    it('total path attribute length beyond the message: Malformed Attribute List', () => {
      const buf = update(new Bytes(), new Bytes());
      buf.writeUInt16BE(50, 21);
      expectNotification(buf, 3, 1);
    });
    it('an NLRI prefix longer than 32 bits: Invalid Network Field', () => {
      expectNotification(update(new Bytes(), mandatory(), new Bytes().u8(33, 1, 2, 3, 4, 5)), 3, 10);
    });
    it('an NLRI prefix cut short: Invalid Network Field', () => {
      expectNotification(update(new Bytes(), mandatory(), new Bytes().u8(24, 10, 1)), 3, 10);
    });
    it('a withdrawn prefix cut short: Invalid Network Field', () => {
      expectNotification(update(new Bytes().u8(24, 10), new Bytes()), 3, 10);
    });
    it('an unrecognised well-known attribute: 3/2 with the attribute as data', () => {
      const e = expectNotification(update(new Bytes(), mandatory().u8(0x40, 99, 1, 7), nlri24()), 3, 2);
      expect(e.data).toEqual(Buffer.from([0x40, 99, 1, 7]));
    });
    it('MP_REACH_NLRI twice: Malformed Attribute List', () => {
      const mp = new Bytes().u16(2).u8(1).u8(16).hex('fd000099000000000000000000000001').u8(0);
      const attrs = mandatory().u8(0x80, 14, mp.length).append(mp.build()).u8(0x80, 14, mp.length).append(mp.build());
      expectNotification(update(new Bytes(), attrs), 3, 1);
    });
    it('MP_REACH_NLRI whose NLRI cannot be parsed: Optional Attribute Error', () => {
      const mp = new Bytes().u16(2).u8(1).u8(16).hex('fd000099000000000000000000000001').u8(0).u8(129).hex('00');
      expectNotification(update(new Bytes(), mandatory().u8(0x80, 14, mp.length).append(mp.build())), 3, 9);
    });
    it('MP_UNREACH_NLRI cut short: Optional Attribute Error', () => {
      expectNotification(update(new Bytes(), new Bytes().u8(0x80, 15, 2).u16(2)), 3, 9);
    });
  });
});
