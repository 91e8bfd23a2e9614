/**
 * A session without TCP: a transport that lives in the process, and the OPEN/KEEPALIVE exchange
 * that brings a peer to Established over it at once, with no socket and no timer. The speaker's
 * warm-up runs a synthetic table through it; tests drive sessions with it.
 */
import { EventEmitter } from 'node:events';
import { encodeMessage, keepalive } from '../codec/message';
import type { OpenMessage } from '../codec/messages';
import type { Transport } from '../fsm/connection';
import { State } from '../fsm/states';
import type { Peer } from './peer';

/** An in-memory socket: bytes are pushed in by hand; what the session writes is counted. */
export class MemoryTransport extends EventEmitter implements Transport {
  localAddress = '10.0.0.1';
  remoteAddress = '10.0.0.2';
  localPort = 179;
  remotePort = 40000;
  bytesWritten = 0;
  ended = false;
  destroyed = false;

  write(data: Buffer): boolean {
    this.bytesWritten += data.length;
    return true;
  }

  /** Like a socket's end(data): the last bytes are written, then the side is closed. */
  end(data?: Buffer): void {
    if (data) this.write(data);
    this.ended = true;
  }

  destroy(): void {
    this.destroyed = true;
  }

  /** Delivers bytes as if they arrived from the peer. */
  push(data: Buffer): void {
    this.emit('data', data);
  }
}

/**
 * Hands `transport` to `peer` as an incoming connection and plays the remote side's OPEN and
 * KEEPALIVE; throws unless the session is then Established.
 */
export function establishInMemory(peer: Peer, transport: MemoryTransport, open: OpenMessage): void {
  peer.accept(transport);
  transport.push(encodeMessage(open));
  transport.push(keepalive());
  if (peer.state !== State.Established)
    throw new Error(`in-memory session to ${transport.remoteAddress} not established: ${peer.lastError}`);
}
