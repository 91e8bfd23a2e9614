/**
 * A route blaster for benchmarks: the fastest sender we can make. It precomputes N UPDATEs with
 * our codec, dials the receiver, does the minimal OPEN/KEEPALIVE exchange, then writes every
 * UPDATE at once, so only the receiver limits the rate. Prints "connected <ms>" (TCP up),
 * "established <ms>" and "written <ms>" (epoch milliseconds), then keeps the session alive.
 *
 *   node dist/bench/blaster.js --local A --peer B --asn N --routes N [--unique-med]
 */
import net from 'node:net';
import { buildAnnouncements } from '../bgp/speaker/update-builder';
import { minimalSession } from './minimal-session';
import type { PathAttributes } from '../bgp/rib/path';
import { flag, required } from './args';

const local = required('local');
const peer = required('peer');
const asn = Number(required('asn'));
const routes = Number(required('routes'));
const uniqueMed = flag('unique-med');

function prefixes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
}

function precompute(): Buffer[] {
  const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [asn] }], nextHop: local };
  const ctx = { as4: true };
  if (!uniqueMed) return buildAnnouncements('ipv4-unicast', attrs, prefixes(routes), ctx);
  // One prefix per UPDATE: a different MED on every route defeats packing.
  return prefixes(routes).flatMap((p, i) => buildAnnouncements('ipv4-unicast', { ...attrs, med: i }, [p], ctx));
}

const updates = precompute();
const socket = net.connect({ host: peer, port: 179, localAddress: local, noDelay: true });
socket.on('connect', () => process.stdout.write(`connected ${Date.now()}\n`));
minimalSession(socket, { asn, routerId: local }, () => updates);
