/** An in-memory socket for driving sessions without TCP: push bytes in, read what was written. */
import { EventEmitter } from 'node:events';
import type { Transport } from '../../../bgp/fsm/connection';

export class FakeTransport extends EventEmitter implements Transport {
  readonly written: Buffer[] = [];
  ended = false;
  destroyed = false;
  localAddress = '10.0.0.1';
  remoteAddress = '10.0.0.2';
  localPort = 179;
  remotePort = 40000;

  write(data: Buffer): boolean {
    this.written.push(Buffer.from(data));
    return true;
  }

  end(data?: Buffer): void {
    if (data) this.written.push(Buffer.from(data));
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
