/**
 * A byte builder for expected wire data, independent of the codec's Writer so tests do not
 * check the encoder against itself.
 */
export class Bytes {
  private parts: number[] = [];

  u8(...v: number[]): this {
    for (const x of v) this.parts.push(x & 0xff);
    return this;
  }

  u16(...v: number[]): this {
    for (const x of v) this.parts.push((x >> 8) & 0xff, x & 0xff);
    return this;
  }

  u32(...v: number[]): this {
    for (const x of v) this.parts.push((x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff);
    return this;
  }

  ip(text: string): this {
    return this.u8(...text.split('.').map(Number));
  }

  hex(h: string): this {
    const clean = h.replace(/[^0-9a-f]/gi, '');
    for (let i = 0; i < clean.length; i += 2) this.parts.push(parseInt(clean.slice(i, i + 2), 16));
    return this;
  }

  append(b: Uint8Array): this {
    this.parts.push(...b);
    return this;
  }

  get length(): number {
    return this.parts.length;
  }

  build(): Buffer {
    return Buffer.from(this.parts);
  }
}

/** A whole BGP message: marker, length, type, body. */
export function message(type: number, body: Bytes | Buffer): Buffer {
  const b = body instanceof Bytes ? body.build() : body;
  return new Bytes()
    .hex('ff'.repeat(16))
    .u16(19 + b.length)
    .u8(type)
    .append(b)
    .build();
}

/** An UPDATE built from raw withdrawn, attribute and NLRI sections. */
export function update(withdrawn: Bytes | Buffer, attrs: Bytes | Buffer, nlri: Bytes | Buffer = Buffer.alloc(0)): Buffer {
  const w = withdrawn instanceof Bytes ? withdrawn.build() : withdrawn;
  const a = attrs instanceof Bytes ? attrs.build() : attrs;
  const n = nlri instanceof Bytes ? nlri.build() : nlri;
  return message(2, new Bytes().u16(w.length).append(w).u16(a.length).append(a).append(n));
}

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
