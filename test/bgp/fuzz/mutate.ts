/**
 * A small, seeded mutation fuzzer: byte flips, boundary values, inserted and deleted runs,
 * truncation, splices of two messages, and rewrites of the length fields BGP relies on.
 * Deterministic for a seed, so any failure can be replayed.
 */

/** mulberry32: a tiny PRNG with a 32-bit state; plenty for fuzzing. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BOUNDARY = [0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x10, 0x1f, 0x20, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xe0, 0xf0, 0xfe, 0xff];

export class Mutator {
  private readonly rand: () => number;

  constructor(seed: number) {
    this.rand = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  /** 1 to 4 mutations of a copy of `input`; `other` is available for splicing. */
  mutate(input: Buffer, other: Buffer): Buffer {
    let b: Buffer = Buffer.from(input);
    const rounds = 1 + this.int(4);
    for (let i = 0; i < rounds; i++) b = this.once(b, other);
    return b;
  }

  /** Random bytes behind a valid-looking header, so they reach the body decoders. */
  random(): Buffer {
    const type = 1 + this.int(5);
    const body = Buffer.alloc(this.int(120));
    for (let i = 0; i < body.length; i++) body[i] = this.int(256);
    const b = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 0, type]), body]);
    b.writeUInt16BE(b.length, 16);
    return b;
  }

  private once(b: Buffer, other: Buffer): Buffer {
    if (b.length === 0) return Buffer.from(other);
    // Mutations after the header are the interesting ones; keep most headers intact.
    const pos = (): number => (b.length > 19 && this.rand() < 0.9 ? 19 + this.int(b.length - 19) : this.int(b.length));
    switch (this.int(10)) {
      case 0: {
        const p = pos();
        b[p] = b[p]! ^ (1 << this.int(8));
        return b;
      }
      case 1: {
        b[pos()] = this.pick(BOUNDARY);
        return b;
      }
      case 2: {
        const p = pos();
        const ins = Buffer.alloc(1 + this.int(8));
        for (let i = 0; i < ins.length; i++) ins[i] = this.pick(BOUNDARY);
        return fixLength(Buffer.concat([b.subarray(0, p), ins, b.subarray(p)]));
      }
      case 3: {
        const p = pos();
        return fixLength(Buffer.concat([b.subarray(0, p), b.subarray(Math.min(b.length, p + 1 + this.int(8)))]));
      }
      case 4:
        return fixLength(b.subarray(0, Math.max(19, pos())));
      case 5: {
        // Splice: our head, the other's tail.
        const p = pos();
        const q = other.length > 19 ? 19 + this.int(other.length - 19) : 0;
        return fixLength(Buffer.concat([b.subarray(0, p), other.subarray(q)]));
      }
      case 6: {
        // A two-octet field somewhere after the header gets a boundary value (a length, often).
        if (b.length < 21) return b;
        const p = 19 + this.int(b.length - 20);
        b.writeUInt16BE(this.pick([0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0xffff]), p);
        return b;
      }
      case 7: {
        // The header's length field lies (the framer must cope, the decoder must complain).
        if (b.length >= 19) b.writeUInt16BE(this.pick([0, 18, 19, 20, b.length - 1, b.length + 1, 4096, 4097, 65535]), 16);
        return b;
      }
      case 8: {
        // The message type changes under a body of another type.
        if (b.length >= 19) b[18] = this.pick([0, 1, 2, 3, 4, 5, 6, 255]);
        return b;
      }
      default: {
        // A run of bytes repeated (attribute lists, prefixes).
        const p = pos();
        const len = 1 + this.int(Math.min(32, b.length - p));
        return fixLength(Buffer.concat([b.subarray(0, p + len), b.subarray(p, p + len), b.subarray(p + len)]));
      }
    }
  }
}

/** Keeps the header's length field honest after a resize (most of the time the fuzzer wants that). */
function fixLength(b: Buffer): Buffer {
  if (b.length >= 19 && b.length <= 0xffff) b.writeUInt16BE(b.length, 16);
  return b;
}
