import {
  canonicalIp,
  canonicalPrefix,
  containingPrefix,
  firstHost,
  hostPort,
  hostPrefix,
  inPrefixes,
  ipFamily,
  isIp,
  isIpv4,
  ipv4ToNumber,
  formatIpv4PrefixKey,
  ipv4PrefixKey,
  prefixText,
  ipv4Value,
  networkOf,
  normalizeAddress,
  prefixContains,
  prefixList,
} from '../../net';

describe('net: addresses', () => {
  it.each([
    ['10.0.0.1', true, 4],
    ['fd00::1', true, 6],
    ['::ffff:10.0.0.1', true, 6],
    ['10.1', false, 4], // ipaddr.js would take this as 10.0.0.1
    ['010.0.0.1', false, 4], // or this as octal
    ['256.0.0.1', false, 4],
    ['fd00::1::2', false, 6],
    ['', false, 4],
  ] as const)('%j: valid %s, family %s', (text, valid, family) => {
    expect(isIp(text)).toBe(valid);
    expect(ipFamily(text)).toBe(family);
  });
  it('writes one canonical form', () => {
    expect(canonicalIp('FD00:0:0::0001')).toBe('fd00::1');
    expect(canonicalIp('::ffff:10.0.0.1')).toBe('::ffff:10.0.0.1');
    expect(normalizeAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(normalizeAddress('not an address')).toBe('not an address');
    expect(() => canonicalIp('10.1')).toThrow(RangeError);
    expect(isIpv4('fd00::1')).toBe(false);
  });
  it.each([
    ['0.0.0.0', 0],
    ['10.0.0.1', 0x0a000001],
    ['255.255.255.255', 0xffffffff],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['01.2.3.4', undefined],
    ['1.2.3.256', undefined],
    ['1..2.3', undefined],
    ['1.2.3.4.', undefined],
    [' 1.2.3.4', undefined],
    ['', undefined],
    ['fd00::1', undefined],
  ] as const)('IPv4 %j as a number: %s', (text, value) => {
    expect(ipv4Value(text)).toBe(value);
    if (value !== undefined) expect(ipv4ToNumber(text)).toBe(value);
  });
  it('IPv4 as a number reads only the text before `end`', () => {
    expect(ipv4Value('10.1.2.3/32', 8)).toBe(0x0a010203);
    expect(ipv4Value('10.1.2.3/32', 6)).toBeUndefined(); // "10.1.2"
    expect(ipv4Value('10.1.2.3', 0)).toBeUndefined();
  });
  it('host prefixes and host:port', () => {
    expect(hostPrefix('10.0.0.1')).toBe('10.0.0.1/32');
    expect(hostPrefix('fd00::1')).toBe('fd00::1/128');
    expect(hostPort('fd00::1', 80)).toBe('[fd00::1]:80');
    expect(hostPort('10.0.0.1', 80)).toBe('10.0.0.1:80');
  });
});

describe('net: an IPv4 prefix as one number', () => {
  it.each([
    ['10.0.0.0/24', 0x0a000000 * 64 + 24],
    ['0.0.0.0/0', 0],
    ['255.255.255.255/32', 0xffffffff * 64 + 32],
    // Host bits are kept: two texts, two numbers.
    ['10.0.0.7/24', 0x0a000007 * 64 + 24],
    ['10.0.0.0/8', 0x0a000000 * 64 + 8],
  ] as const)('%j is %d', (text, key) => {
    expect(ipv4PrefixKey(text)).toBe(key);
  });
  it.each([
    '10.0.0.0',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/08',
    '10.0.0.0/100',
    '010.0.0.0/8',
    '10.0.0/8',
    '10.0.0.0/2a',
    'fd00::/8',
    ' 10.0.0.0/8',
    '10.0.0.0/8 ',
  ])('%j is not strict IPv4: no number', (text) => {
    expect(ipv4PrefixKey(text)).toBeUndefined();
  });
  it('gives the same text back from the number, host bits and all', () => {
    for (const text of ['10.0.0.0/24', '0.0.0.0/0', '255.255.255.255/32', '10.0.0.7/24', '192.168.1.128/25', '1.2.3.4/9']) {
      expect(formatIpv4PrefixKey(ipv4PrefixKey(text)!)).toBe(text);
      expect(prefixText(ipv4PrefixKey(text)!)).toBe(text);
    }
    expect(prefixText('fd00::/64')).toBe('fd00::/64');
  });
});

describe('net: prefixes', () => {
  it('clears host bits', () => {
    expect(canonicalPrefix('10.0.0.7/24')).toBe('10.0.0.0/24');
    expect(canonicalPrefix('10.0.0.255/25')).toBe('10.0.0.128/25');
    expect(canonicalPrefix('fd00:10:244:1::5/64')).toBe('fd00:10:244:1::/64');
    expect(canonicalPrefix('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(networkOf('192.168.7.9/16')).toBe('192.168.0.0/16');
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/-1', '10.0.0.0/ 8', 'x/8'])
      expect(() => canonicalPrefix(bad)).toThrow(RangeError);
  });
  it('containment: addresses and prefixes, one family at a time', () => {
    expect(prefixContains('10.244.0.0/16', '10.244.1.0/24')).toBe(true);
    expect(prefixContains('10.244.1.0/24', '10.244.0.0/16')).toBe(false);
    expect(prefixContains('10.244.1.0/24', '10.244.1.0/24')).toBe(true);
    expect(prefixContains('10.244.1.0/24', '10.244.1.9')).toBe(true);
    expect(prefixContains('10.244.1.0/25', '10.244.1.129')).toBe(false);
    expect(prefixContains('0.0.0.0/0', 'fd00::1')).toBe(false);
    expect(prefixContains('::/0', 'fd00::/8')).toBe(true);
    expect(containingPrefix('10.0.0.5/32', ['10.1.0.0/16', '10.0.0.0/24'])).toBe('10.0.0.0/24');
    expect(inPrefixes('10.2.0.1', ['10.1.0.0/16', 'fd00::/8'])).toBe(false);
    const list = prefixList(['10.1.0.0/16', '10.0.0.0/24', 'fd00::/8']);
    expect([
      list.containing('10.0.0.5/32'),
      list.containing('10.1.2.3'),
      list.containing('fd00:1::/64'),
      list.containing('10.2.0.0/24'),
    ]).toEqual(['10.0.0.0/24', '10.1.0.0/16', 'fd00::/8', undefined]);
    expect(prefixList([]).containing('10.0.0.1')).toBeUndefined();
  });
  it("the first host (a pod CIDR's gateway), carrying across bytes", () => {
    expect(firstHost('10.233.66.0/24')).toBe('10.233.66.1/24');
    expect(firstHost('fd00:1::/64')).toBe('fd00:1::1/64');
  });
});
