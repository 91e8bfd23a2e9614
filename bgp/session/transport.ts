/**
 * TCP connections for sessions. A factory so that options the kernel needs before connect()
 * (TCP MD5 signatures, TTL for multihop) live in one place, and tests can substitute pipes.
 */
import net from 'node:net';
import type { PendingTransport, Transport } from '../fsm/connection';

export interface ConnectOptions {
  address: string;
  port: number;
  localAddress?: string;
  /** TCP MD5 signature key (RFC 2385). */
  password?: string;
  /** IP TTL for eBGP multihop; 1 for directly connected eBGP by default elsewhere. */
  ttl?: number;
}

export interface TransportFactory {
  connect(opts: ConnectOptions): PendingTransport;
}

/** Plain TCP through node:net. */
export const tcpTransports: TransportFactory = {
  connect(opts: ConnectOptions): PendingTransport {
    if (opts.password) {
      return { done: Promise.reject(new Error('TCP MD5 needs the md5 transport factory')), cancel: () => undefined };
    }
    const socket = net.connect({ host: opts.address, port: opts.port, localAddress: opts.localAddress, noDelay: true });
    const done = new Promise<Transport>((resolve, reject) => {
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
    return { done, cancel: () => socket.destroy() };
  },
};
