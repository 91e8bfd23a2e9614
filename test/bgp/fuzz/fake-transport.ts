/** The in-memory transport, keeping a copy of everything written so tests can read it. */
import { MemoryTransport } from '../../../bgp/session/memory-transport';

export class FakeTransport extends MemoryTransport {
  readonly written: Buffer[] = [];

  override write(data: Buffer): boolean {
    this.written.push(Buffer.from(data));
    return super.write(data);
  }
}
