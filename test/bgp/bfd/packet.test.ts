import { BfdPacketError, BfdState, decodeControl, encodeControl } from '../../../bgp/bfd/packet';
import { controlPacket } from '../../helpers/bfd';
import { bfdTransition } from '../../../bgp/bfd/fsm';
import { Diag } from '../../../bgp/bfd/packet';

const base = controlPacket();

describe('BFD Control packet (RFC 5880 4.1)', () => {
  it('encodes the fields where the RFC puts them', () => {
    const b = encodeControl({ ...base, state: BfdState.Up, poll: true, diag: Diag.ControlDetectionTimeExpired, yourDiscr: 7 });
    expect(b.toString('hex')).toBe(
      [
        '21', // version 1, diag 1
        'e0', // state Up (3 << 6) | P
        '03', // detect mult
        '18', // length 24
        '01020304',
        '00000007',
        '000f4240', // 1,000,000 us
        '000493e0', // 300,000 us
        '00000000',
      ].join(''),
    );
  });

  it('round-trips every state and flag', () => {
    for (const state of [BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up])
      for (const flags of [{}, { poll: true }, { final: true }, { cpi: true }, { demand: true }]) {
        const p = { ...base, state, yourDiscr: 99, ...flags };
        expect(decodeControl(encodeControl(p))).toEqual(p);
      }
  });

  const bad: [string, (b: Buffer) => Buffer, RegExp][] = [
    ['too short', (b) => b.subarray(0, 20), /shorter/],
    ['version 2', (b) => ((b[0] = (2 << 5) | (b[0]! & 0x1f)), b), /version 2/],
    ['length field below 24', (b) => ((b[3] = 20), b), /length field 20/],
    ['length field beyond the datagram', (b) => ((b[3] = 40), b), /more than the 24/],
    ['authentication bit with 24 octets', (b) => ((b[1] |= 0x04), b), /less than 26/],
    ['detect multiplier 0', (b) => ((b[2] = 0), b), /multiplier 0/],
    ['multipoint bit', (b) => ((b[1] |= 0x01), b), /multipoint/],
    ['my discriminator 0', (b) => (b.writeUInt32BE(0, 4), b), /my discriminator 0/],
    ['your discriminator 0 while Up', (b) => ((b[1] = (BfdState.Up << 6) | (b[1]! & 0x3f)), b), /your discriminator 0 in state Up/],
    ['poll and final together', (b) => ((b[1] |= 0x30), b), /poll and final/],
  ];
  it.each(bad)('discards a packet with %s (6.8.6)', (_what, mutate, message) => {
    const b = mutate(encodeControl(base));
    expect(() => decodeControl(b)).toThrow(BfdPacketError);
    expect(() => decodeControl(b)).toThrow(message);
  });

  it('accepts trailing octets after the length the packet states (UDP padding)', () => {
    const b = Buffer.concat([encodeControl(base), Buffer.alloc(8)]);
    expect(decodeControl(b).myDiscr).toBe(base.myDiscr);
  });
});

describe('BFD state table (RFC 5880 6.8.6)', () => {
  const S = BfdState;
  it.each([
    [S.Down, 'RecvDown', S.Init, undefined],
    [S.Down, 'RecvInit', S.Up, undefined],
    [S.Down, 'RecvUp', S.Down, undefined],
    [S.Down, 'RecvAdminDown', S.Down, undefined],
    [S.Down, 'DetectTimeout', S.Down, undefined],
    [S.Init, 'RecvDown', S.Init, undefined],
    [S.Init, 'RecvInit', S.Up, undefined],
    [S.Init, 'RecvUp', S.Up, undefined],
    [S.Init, 'RecvAdminDown', S.Down, Diag.NeighborSignaledSessionDown],
    [S.Init, 'DetectTimeout', S.Down, Diag.ControlDetectionTimeExpired],
    [S.Up, 'RecvUp', S.Up, undefined],
    [S.Up, 'RecvInit', S.Up, undefined],
    [S.Up, 'RecvDown', S.Down, Diag.NeighborSignaledSessionDown],
    [S.Up, 'RecvAdminDown', S.Down, Diag.NeighborSignaledSessionDown],
    [S.Up, 'DetectTimeout', S.Down, Diag.ControlDetectionTimeExpired],
    [S.Up, 'AdminDown', S.AdminDown, Diag.AdministrativelyDown],
    [S.AdminDown, 'RecvUp', S.AdminDown, undefined],
    [S.AdminDown, 'AdminUp', S.Down, Diag.None],
  ] as const)('%s + %s -> %s', (from, event, next, diag) => {
    expect(bfdTransition(from, event)).toEqual(diag === undefined ? { next } : { next, diag });
  });
});
