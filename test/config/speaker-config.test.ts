import { parseSpeakerConfig, ConfigError } from '../../src/config/speaker-config';

const ok = { routerId: '10.0.0.1', asn: 65000, neighbors: [{ address: '10.0.0.2', asn: 65001 }], advertise: ['10.1.0.0/24'] };

describe('speaker config', () => {
  it('fills defaults', () => {
    const c = parseSpeakerConfig(ok);
    expect(c.listen).toEqual({ port: 179 });
    expect(c.holdTime).toBe(90);
    expect(c.neighbors[0]).toMatchObject({ port: 179, passive: false, families: ['ipv4-unicast'] });
    expect(Object.isFrozen(c)).toBe(true);
    expect(c.warmUpRoutes).toBe(20000);
  });
  it('takes the warm-up table size, 0 for none', () => {
    expect(parseSpeakerConfig({ ...ok, warmUpRoutes: 0 }).warmUpRoutes).toBe(0);
    for (const bad of [-1, 100001, 1.5, '20000']) expect(() => parseSpeakerConfig({ ...ok, warmUpRoutes: bad })).toThrow(/warmUpRoutes/);
  });
  it('takes a prefix limit per neighbour', () => {
    const c = parseSpeakerConfig({ ...ok, neighbors: [{ address: '10.0.0.2', asn: 65001, maxPrefixes: 1000, maxPrefixesRestart: 120 }] });
    expect(c.neighbors[0]).toMatchObject({ maxPrefixes: 1000, maxPrefixesRestart: 120 });
    expect(() => parseSpeakerConfig({ ...ok, neighbors: [{ address: '10.0.0.2', asn: 65001, maxPrefixes: 0 }] })).toThrow(
      /neighbors\[0\]\.maxPrefixes/,
    );
  });
  it('takes BFD per neighbour, filling the defaults and refusing values outside RFC 5880', () => {
    const c = parseSpeakerConfig({ ...ok, neighbors: [{ address: '10.0.0.2', asn: 65001, bfd: { desiredMinTxMs: 300 } }] });
    expect(c.neighbors[0]!.bfd).toEqual({ port: 3784, detectMultiplier: 3, desiredMinTxMs: 300, requiredMinRxMs: 1000 });
    for (const bad of [{ detectMultiplier: 0 }, { port: 0 }, { requiredMinRxMs: 4294968 }, { echo: true }])
      expect(() => parseSpeakerConfig({ ...ok, neighbors: [{ address: '10.0.0.2', asn: 65001, bfd: bad }] })).toThrow(
        /neighbors\[0\]\.bfd/,
      );
  });

  it('canonicalises prefixes', () =>
    expect(parseSpeakerConfig({ ...ok, advertise: ['10.1.2.3/24', 'FD00::1/64'] }).advertise).toEqual(['10.1.2.0/24', 'fd00::/64']));
  it.each([
    [{ ...ok, routerId: 'x' }, /routerId: must be an IPv4 address/],
    [{ ...ok, asn: 0 }, /asn: AS numbers start at 1/],
    [{ ...ok, asn: 2 ** 32 }, /asn: AS numbers are 32-bit/],
    [{ ...ok, neighbors: [{ address: '10.0.0.2', asn: 'x' }] }, /neighbors\[0\]\.asn: Expected number/],
    [{ ...ok, neighbors: [{ address: '10.0.0.2', asn: 1, holdTime: 2 }] }, /neighbors\[0\]\.holdTime: must be 0 or at least 3/],
    [{ ...ok, neighbors: [{ address: '10.0.0.2', asn: 1, families: ['ipv4-multicast'] }] }, /neighbors\[0\]\.families\[0\]/],
    [
      {
        ...ok,
        neighbors: [
          { address: '10.0.0.2', asn: 1 },
          { address: '10.0.0.2', asn: 2 },
        ],
      },
      /neighbors\[1\]\.address: duplicate neighbor/,
    ],
    [{ ...ok, advertise: ['10.0.0.0/33'] }, /advertise\[0\]: bad prefix length/],
    [{ ...ok, routerId: '0.0.0.0' }, /routerId: must not be 0\.0\.0\.0/],
    // One neighbour written two ways: refused when the file is read, before anything listens.
    [
      {
        ...ok,
        neighbors: [
          { address: 'fd00::2', asn: 1 },
          { address: 'FD00:0:0::2', asn: 2 },
        ],
      },
      /neighbors\[1\]\.address: duplicate neighbor fd00::2/,
    ],
    [
      {
        ...ok,
        neighbors: [
          { address: '10.0.0.2', asn: 1 },
          { address: '::ffff:10.0.0.2', asn: 2 },
        ],
      },
      /neighbors\[1\]\.address: duplicate neighbor 10\.0\.0\.2/,
    ],
    [
      { ...ok, neighbors: [{ address: '10.0.0.2', asn: 1, password: 'é'.repeat(41) }] },
      /neighbors\[0\]\.password: TCP MD5 keys are at most 80 bytes/,
    ],
    [{ ...ok, gracefulRestart: { restartTime: 5000 } }, /gracefulRestart\.restartTime: the restart time field has 12 bits/],
    [{ ...ok, nieghbors: [] }, /Unrecognized key\(s\) in object: 'nieghbors'/],
  ])('rejects %j with one message naming the field', (input, message) => {
    expect(() => parseSpeakerConfig(input, 'test.json')).toThrow(ConfigError);
    expect(() => parseSpeakerConfig(input, 'test.json')).toThrow(message);
  });
});
