/**
 * A route blaster for benchmarks: the fastest sender we can make. It precomputes N UPDATEs with
 * our codec, dials the receiver, does the minimal OPEN/KEEPALIVE exchange, then writes every
 * UPDATE at once, so only the receiver limits the rate. Prints "connected <ms>" (TCP up),
 * "established <ms>" and "written <ms>" (epoch milliseconds), then keeps the session alive.
 *
 *   node dist/bench/blaster.js --local A --peer B --asn N --routes N [--unique-med]
 */
import net from 'node:net';
import { Framer } from '../bgp/codec/framer';
import { encodeMessage, keepalive, decodeMessage } from '../bgp/codec/message';
import { MessageType } from '../bgp/codec/constants';
import { buildOpen } from '../bgp/session/negotiate';
import { buildAnnouncements } from '../bgp/speaker/update-builder';
import type { PathAttributes } from '../bgp/rib/path';

const args = process.argv.slice(2);
const opt = (name: string): string => {
  const i = args.indexOf(`--${name}`);
  if (i < 0 || !args[i + 1]) throw new Error(`--${name} is required`);
  return args[i + 1]!;
};
const local = opt('local');
const peer = opt('peer');
const asn = Number(opt('asn'));
const routes = Number(opt('routes'));
const uniqueMed = args.includes('--unique-med');

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
const framer = new Framer();
let established = false;
socket.on('connect', () => {
  process.stdout.write(`connected ${Date.now()}\n`);
  socket.write(encodeMessage(buildOpen({ asn, routerId: local, holdTime: 90, families: ['ipv4-unicast'] })));
});
socket.on('data', (chunk: Buffer) => {
  for (const m of framer.push(chunk)) {
    const type = m[18];
    if (type === MessageType.Open) socket.write(keepalive());
    else if (type === MessageType.Keepalive && !established) {
      established = true;
      process.stdout.write(`established ${Date.now()}\n`);
      socket.cork();
      for (const u of updates) socket.write(u);
      socket.uncork();
      socket.write(Buffer.alloc(0), () => process.stdout.write(`written ${Date.now()}\n`));
      setInterval(() => socket.write(keepalive()), 30000);
    } else if (type === MessageType.Notification) {
      process.stderr.write(`NOTIFICATION ${JSON.stringify(decodeMessage(m))}\n`);
      process.exit(1);
    }
  }
});
socket.on('error', (e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
