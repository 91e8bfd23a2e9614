/** Valid messages to start mutating from: the real captures, the seed's messages, and our own. */
import fs from 'node:fs';
import path from 'node:path';
import { encodeMessage, keepalive, MessageType, notification, routeRefresh } from '../../../bgp/codec';
import { buildOpen } from '../../../bgp/session/negotiate';
import { buildAnnouncements, buildWithdrawals, endOfRib } from '../../../bgp/speaker/update-builder';

export interface Seed {
  buf: Buffer;
  as4: boolean;
}

export function corpus(): Seed[] {
  const dir = path.join(__dirname, '../../fixtures/captures');
  const out: Seed[] = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const fx = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { as4: boolean; directions: { messages: string[] }[] };
    for (const d of fx.directions) for (const m of d.messages) out.push({ buf: Buffer.from(m, 'hex'), as4: fx.as4 });
  }
  const ctx = { as4: true };
  const attrs = {
    origin: 0,
    asPath: [{ type: 2 as const, asns: [65001, 4200000001] }],
    nextHop: '10.0.0.2',
    med: 5,
    communities: [0xfde80064],
    largeCommunities: [[1, 2, 3]] as [number, number, number][],
  };
  const many = Array.from({ length: 300 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  const own = [
    encodeMessage(
      buildOpen({
        asn: 64512,
        routerId: '192.168.50.50',
        holdTime: 90,
        families: ['ipv4-unicast', 'ipv6-unicast'],
        hostname: 'node1',
        gracefulRestart: { restartTime: 90, restarting: false, preserved: true },
        extendedNextHop: true,
      }),
    ),
    ...buildAnnouncements('ipv4-unicast', attrs, many.slice(0, 20), ctx),
    ...buildAnnouncements(
      'ipv6-unicast',
      { ...attrs, nextHop: 'fd00::2', linkLocalNextHop: 'fe80::2' },
      ['fd00:1::/64', '2001:db8::/32', '::/0'],
      ctx,
    ),
    ...buildWithdrawals('ipv4-unicast', many.slice(0, 10), ctx),
    ...buildWithdrawals('ipv6-unicast', ['fd00:1::/64'], ctx),
    endOfRib('ipv4-unicast', ctx),
    endOfRib('ipv6-unicast', ctx),
    keepalive(),
    encodeMessage(notification(6, 2, Buffer.from('shutdown'))),
    encodeMessage(routeRefresh(1, 1, 0)),
    encodeMessage(routeRefresh(2, 1, 1)),
  ];
  for (const buf of own) out.push({ buf, as4: true });
  return out.filter((s) => s.buf[18] !== undefined && s.buf[18] <= MessageType.RouteRefresh);
}
