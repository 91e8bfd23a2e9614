/**
 * A bounds-checked cursor over a Buffer, one method per wire type. Every read past the end throws
 * the BgpError the reader was created with, so a short field always maps to the NOTIFICATION (or
 * RFC 7606 outcome) that the surrounding structure calls for.
 */
import { BgpError, ErrorCode } from './errors';

export interface Overrun {
  code: ErrorCode;
  subcode: number;
}

export class Reader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    private readonly overrun: Overrun,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new BgpError(this.overrun.code, this.overrun.subcode, Buffer.alloc(0), `${what}: need ${n} bytes, ${this.remaining} left`);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** The next n bytes (at most 6) as one big-endian number, without a view of them. */
  uint(n: number, what = 'uint'): number {
    this.need(n, what);
    let v = 0;
    for (const end = this.pos + n; this.pos < end; this.pos++) v = v * 256 + this.buf[this.pos]!;
    return v;
  }

  /** A view (not a copy) of the next n bytes. */
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** The next n bytes (fewer near the end) without moving the cursor. */
  sliceAhead(n: number): Buffer {
    return this.buf.subarray(this.pos, Math.min(this.pos + n, this.end));
  }

  /** The bytes from `start` (an earlier offset) up to the cursor. */
  sliceFrom(start: number): Buffer {
    return this.buf.subarray(start, this.pos);
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** A reader over the next n bytes; reads past its end throw `overrun` (default: ours). */
  sub(n: number, what: string, overrun: Overrun = this.overrun): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, overrun, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
}
