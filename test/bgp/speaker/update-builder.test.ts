import { buildAnnouncements, buildWithdrawals, endOfRib } from '../../../bgp/speaker/update-builder';
import { decodeMessage, ReceivedUpdate, MAX_MESSAGE_LENGTH } from '../../../bgp/codec';
import type { PathAttributes } from '../../../bgp/rib/path';
import { ipv4PrefixKey, prefixText } from '../../../net';

const ctx = { as4: true };
const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65000] }], nextHop: '10.0.0.1', communities: [1, 2] };
const prefixes = (n: number) => Array.from({ length: n }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);

describe('UPDATE packing', () => {
  it('puts as many IPv4 prefixes in one UPDATE as fit, and no more', () => {
    const msgs = buildAnnouncements('ipv4-unicast', attrs, prefixes(5000), ctx);
    expect(msgs.length).toBeGreaterThan(1);
    const all: string[] = [];
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
      const u = decodeMessage(m) as ReceivedUpdate;
      expect(u.attributes.map((a) => a.kind)).toEqual(['origin', 'asPath', 'nextHop', 'communities']);
      all.push(...u.nlri.map(prefixText));
    }
    expect(all).toEqual(prefixes(5000));
    // Full messages: all but the last are within one prefix (4 octets) of the limit.
    for (const m of msgs.slice(0, -1)) expect(m.length).toBeGreaterThan(MAX_MESSAGE_LENGTH - 4);
  });

  it('packs IPv4 prefixes given as numbers into the same UPDATEs as their text, classic and MP (IPv6 next hop)', () => {
    const texts = [...prefixes(1200), '10.9.9.9/32', '0.0.0.0/0'];
    const keys = texts.map((t) => ipv4PrefixKey(t)!);
    expect(buildAnnouncements('ipv4-unicast', attrs, keys, ctx)).toEqual(buildAnnouncements('ipv4-unicast', attrs, texts, ctx));
    const v6hop = { ...attrs, nextHop: 'fd00::1' };
    expect(buildAnnouncements('ipv4-unicast', v6hop, keys, ctx)).toEqual(buildAnnouncements('ipv4-unicast', v6hop, texts, ctx));
    expect(buildWithdrawals('ipv4-unicast', keys, ctx)).toEqual(buildWithdrawals('ipv4-unicast', texts, ctx));
  });

  it('sends IPv6 in MP_REACH_NLRI with the next hop, first among the attributes', () => {
    const [m] = buildAnnouncements('ipv6-unicast', { ...attrs, nextHop: 'fd00::1' }, ['fd00:1::/64', '2001:db8::/32'], ctx);
    const u = decodeMessage(m!) as ReceivedUpdate;
    expect(u.attributes[0]).toMatchObject({
      kind: 'mpReach',
      afi: 2,
      safi: 1,
      nextHops: ['fd00::1'],
      nlri: ['fd00:1::/64', '2001:db8::/32'],
    });
    expect(u.nlri).toEqual([]);
  });

  it('sends IPv4 with an IPv6 next hop in MP_REACH_NLRI (RFC 8950)', () => {
    const [m] = buildAnnouncements('ipv4-unicast', { ...attrs, nextHop: 'fd00::1' }, ['10.0.0.0/24'], ctx);
    expect((decodeMessage(m!) as ReceivedUpdate).attributes[0]).toMatchObject({
      kind: 'mpReach',
      afi: 1,
      nextHops: ['fd00::1'],
      nlri: ['10.0.0.0/24'],
    });
  });

  it('packs withdrawals of both families', () => {
    const v4 = buildWithdrawals('ipv4-unicast', prefixes(3000), ctx);
    expect(v4.flatMap((m) => (decodeMessage(m) as ReceivedUpdate).withdrawn.map(prefixText))).toEqual(prefixes(3000));
    const [v6] = buildWithdrawals('ipv6-unicast', ['fd00::/64'], ctx);
    expect((decodeMessage(v6!) as ReceivedUpdate).attributes).toEqual([
      expect.objectContaining({ kind: 'mpUnreach', withdrawn: ['fd00::/64'] }),
    ]);
  });

  it('End-of-RIB: an empty UPDATE for IPv4, an empty MP_UNREACH for IPv6 (RFC 4724 2)', () => {
    expect(endOfRib('ipv4-unicast', ctx).length).toBe(23);
    expect((decodeMessage(endOfRib('ipv6-unicast', ctx)) as ReceivedUpdate).attributes).toEqual([
      expect.objectContaining({ kind: 'mpUnreach', afi: 2, withdrawn: [] }),
    ]);
  });

  it('adds AS4_PATH toward a 2-octet peer when the path needs it', () => {
    const [m] = buildAnnouncements('ipv4-unicast', { ...attrs, asPath: [{ type: 2, asns: [4200000001, 65001] }] }, ['10.0.0.0/24'], {
      as4: false,
    });
    const u = decodeMessage(m!, { as4: false }) as ReceivedUpdate;
    expect(u.attributes.find((a) => a.kind === 'asPath')).toMatchObject({ segments: [{ type: 2, asns: [23456, 65001] }] });
    expect(u.attributes.find((a) => a.kind === 'as4Path')).toMatchObject({ segments: [{ type: 2, asns: [4200000001, 65001] }] });
  });
});
