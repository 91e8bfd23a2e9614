/**
 * Splits a TCP byte stream into BGP messages, keeping a partial message until the rest arrives
 * (BIRD bgp_rx()). The header is validated as soon as 19 octets are in, so a bad marker or
 * length is answered at once rather than after waiting for bytes that never come.
 */
import { HEADER_LENGTH } from './constants';
import { checkHeader } from './message';

export class Framer {
  private pending: Buffer = Buffer.alloc(0);

  /** Appends a chunk and returns the complete messages it finished. Throws BgpError on a bad header. */
  push(chunk: Buffer): Buffer[] {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (buf.length >= HEADER_LENGTH) {
      const { length } = checkHeader(buf);
      if (buf.length < length) break;
      out.push(buf.subarray(0, length));
      buf = buf.subarray(length);
    }
    // Copy the remainder so a large chunk is not kept alive by a small tail.
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
    return out;
  }

  get buffered(): number {
    return this.pending.length;
  }
}
