import { decodePrefixes, encodePrefix } from '../../../bgp/codec/prefix';
import { Afi } from '../../../bgp/codec/constants';
import { Reader } from '../../../bgp/codec/reader';
import { Writer } from '../../../bgp/codec/writer';
import { ErrorCode } from '../../../bgp/codec/errors';
import { ipv4PrefixKey, parsePrefix } from '../../../net';

const encode = (text: string): Buffer => {
  const w = new Writer(4);
  encodePrefix(w, text);
  return w.toBuffer();
};
/** What RFC 4271 4.3 says the tuple is, computed the slow way. */
const expected = (text: string): Buffer => {
  const p = parsePrefix(text);
  return Buffer.concat([Buffer.from([p.length]), p.bytes.subarray(0, (p.length + 7) >> 3)]);
};

describe('NLRI prefix encoding', () => {
  it('writes <length, significant octets> with host bits cleared, for every IPv4 length', () => {
    for (let len = 0; len <= 32; len++) {
      for (const addr of ['255.255.255.255', '10.1.2.3', '0.0.0.0', '192.168.128.77', '1.0.0.1']) {
        const text = `${addr}/${len}`;
        expect(encode(text)).toEqual(expected(text));
      }
    }
    expect(encode('10.1.2.3/32')).toEqual(Buffer.from([32, 10, 1, 2, 3]));
    expect(encode('10.255.0.0/9')).toEqual(Buffer.from([9, 10, 128]));
    expect(encode('0.0.0.0/0')).toEqual(Buffer.from([0]));
  });

  it('writes an IPv4 prefix given as its number exactly as its text', () => {
    for (let len = 0; len <= 32; len++) {
      for (const addr of ['255.255.255.255', '10.1.2.3', '0.0.0.0', '192.168.128.77']) {
        const text = `${addr}/${len}`;
        const w = new Writer(4);
        encodePrefix(w, ipv4PrefixKey(text)!);
        expect(w.toBuffer()).toEqual(expected(text));
      }
    }
  });

  it('round-trips random prefixes through decode', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const texts = Array.from({ length: 2000 }, () => {
      const len = Math.floor(rnd() * 33);
      const octets = Array.from({ length: 4 }, () => Math.floor(rnd() * 256));
      return parsePrefix(`${octets.join('.')}/${len}`);
    }).map((p) => `${[...p.bytes].join('.')}/${p.length}`);
    const w = new Writer();
    for (const t of texts) encodePrefix(w, t);
    const overrun = { code: ErrorCode.UpdateMessage, subcode: 10 };
    const back = decodePrefixes(new Reader(w.toBuffer(), overrun), Afi.Ipv4, overrun);
    expect(back).toEqual(texts);
  });

  it('decodes to canonical text at every digit count of an octet and the length', () => {
    const texts = ['0.9.10.99/32', '100.199.200.255/32', '255.255.255.255/32', '0.0.0.0/0', '10.0.0.0/8', '9.99.128.0/17'];
    const w = new Writer();
    for (const t of texts) encodePrefix(w, t);
    const overrun = { code: ErrorCode.UpdateMessage, subcode: 10 };
    expect(decodePrefixes(new Reader(w.toBuffer(), overrun), Afi.Ipv4, overrun)).toEqual(texts);
    // Host bits past the length are not part of the text.
    expect(decodePrefixes(new Reader(Buffer.from([9, 10, 255]), overrun), Afi.Ipv4, overrun)).toEqual(['10.128.0.0/9']);
  });

  it('leaves IPv6 and odd spellings to the general parser, and refuses bad text', () => {
    expect(encode('2001:db8::/32')).toEqual(Buffer.from([32, 0x20, 0x01, 0x0d, 0xb8]));
    expect(encode('::ffff:10.0.0.1/128')).toEqual(expected('::ffff:10.0.0.1/128'));
    expect(encode('10.0.0.1/032')).toEqual(expected('10.0.0.1/32'));
    for (const bad of [
      '10.0.0/8',
      '10.0.0.256/32',
      '10.0.0.1/33',
      '10.0.0.01/32',
      '10.0.0.1',
      '10.0.0.1/',
      'x/8',
      '10..0.1/8',
      '10.0.0.1.5/32',
    ])
      expect(() => encode(bad)).toThrow(RangeError);
  });
});
