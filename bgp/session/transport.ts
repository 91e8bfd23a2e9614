/**
 * TCP connections for sessions. A factory so that options the kernel needs before connect()
 * (TCP MD5 signatures, TTL for multihop) live in one place, and tests can substitute pipes.
 */
import net from 'node:net';
import type { PendingTransport, Transport } from '../fsm/connection';
import { connectMd5, setListenerKey, setSocketTtl } from './tcp-md5';

export interface ConnectOptions {
  address: string;
  port: number;
  localAddress?: string;
  /** TCP MD5 signature key (RFC 2385). */
  password?: string;
  /** IP TTL of our packets: 1 for a directly connected eBGP peer, the multihop TTL otherwise; unset: the system's. */
  ttl?: number;
}

export interface TransportFactory {
  connect(opts: ConnectOptions): PendingTransport;
  /** Accept signed connections from `peer` on this listener (key "" to stop). */
  setListenerKey(server: net.Server, peer: string, key: string): void;
  /** The IP TTL of a connection a peer opened to us. */
  setTtl?(socket: net.Socket, ttl: number): void;
}

/** TCP through node:net, or through the native addon when a password or a TTL is set. */
export const tcpTransports: TransportFactory = {
  setListenerKey,
  setTtl: setSocketTtl,
  connect(opts: ConnectOptions): PendingTransport {
    if (opts.password || opts.ttl) {
      try {
        return connectMd5(opts.address, opts.port, opts.localAddress, opts.password ?? '', opts.ttl);
      } catch (e) {
        return { done: Promise.reject(e as Error), cancel: () => undefined };
      }
    }
    const socket = net.connect({ host: opts.address, port: opts.port, localAddress: opts.localAddress, noDelay: true });
    // Always one 'error' listener, whatever happens between connect and the FSM binding it.
    socket.on('error', () => undefined);
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
