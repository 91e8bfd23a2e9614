/**
 * A growable output buffer. Length fields are reserved first and filled in once the body is
 * written (`lengthMark` / `fillU16`), so encoders never compute sizes twice.
 */

export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Reserves `size` bytes (1 or 2) for a length and returns where they are. */
  lengthMark(size: 1 | 2): number {
    const at = this.pos;
    this.ensure(size);
    this.pos += size;
    return at;
  }

  /** Writes the number of bytes after a mark of `size` bytes into it. */
  fillLength(at: number, size: 1 | 2): void {
    const len = this.pos - at - size;
    if (size === 1) {
      if (len > 0xff) throw new RangeError(`length ${len} does not fit one octet`);
      this.buf[at] = len;
    } else {
      if (len > 0xffff) throw new RangeError(`length ${len} does not fit two octets`);
      this.buf.writeUInt16BE(len, at);
    }
  }

  /** A copy of what was written. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
