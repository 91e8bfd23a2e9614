/**
 * The least BGP a benchmark's traffic source needs on one socket: our OPEN, a KEEPALIVE for
 * theirs, then, once Established, every precomputed message written at once (so only the other
 * side limits the rate), and a KEEPALIVE every 30 s. Prints "established <ms>" and "written <ms>"
 * (epoch milliseconds); a NOTIFICATION or a socket error ends the process.
 */
import type net from 'node:net';
import { Framer } from '../bgp/codec/framer';
import { encodeMessage, keepalive, decodeMessage } from '../bgp/codec/message';
import { MessageType } from '../bgp/codec/constants';
import { buildOpen } from '../bgp/session/negotiate';

export function minimalSession(socket: net.Socket, local: { asn: number; routerId: string }, initial: () => readonly Buffer[]): void {
  const framer = new Framer();
  let established = false;
  socket.on('error', (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
  socket.on('data', (chunk: Buffer) => {
    for (const m of framer.push(chunk)) {
      const type = m[18];
      if (type === MessageType.Open) socket.write(keepalive());
      else if (type === MessageType.Keepalive && !established) {
        established = true;
        process.stdout.write(`established ${Date.now()}\n`);
        socket.cork();
        for (const u of initial()) socket.write(u);
        socket.uncork();
        socket.write(Buffer.alloc(0), () => process.stdout.write(`written ${Date.now()}\n`));
        setInterval(() => socket.write(keepalive()), 30000).unref();
      } else if (type === MessageType.Notification) {
        process.stderr.write(`NOTIFICATION ${JSON.stringify(decodeMessage(m))}\n`);
        process.exit(1);
      }
    }
  });
  const open = (): void => void socket.write(encodeMessage(buildOpen({ ...local, holdTime: 90, families: ['ipv4-unicast'] })));
  if (socket.connecting) socket.once('connect', open);
  else open();
}
