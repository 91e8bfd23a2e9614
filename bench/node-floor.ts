/**
 * Node's floor for bench/rib-load.ts: the least a receiver must do for that load, in this
 * runtime, as a yardstick beside BIRD (not a speaker: no FSM, policy, Adj-RIB-Out or error
 * handling). It takes the sender's session, reads each UPDATE's IPv4 NLRI into numbers, keeps
 * them in one open-addressing table over typed arrays, and writes each UPDATE's new routes on to
 * the second peer at once, with our AS prepended and itself as next hop (announcements only: the
 * load withdraws nothing). Answers the benchmark's count (routes in its table) on a unix socket.
 *
 *   node dist/bench/node-floor.js --local 10.0.0.2 --asn 65000 --sink 10.0.0.3 --count-socket PATH
 */
import net from 'node:net';
import { Framer } from '../bgp/codec/framer';
import { encodeMessage, keepalive } from '../bgp/codec/message';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from '../bgp/codec/constants';
import { buildOpen } from '../bgp/session/negotiate';
import { option } from './args';

const LOCAL = option('local') ?? '10.0.0.2';
const ASN = Number(option('asn') ?? 65000);
const SINK = option('sink') ?? '10.0.0.3';
const COUNT_SOCKET = option('count-socket');

/** A set of prefixes (address, length), linear probing; length 0 marks a free slot. */
class PrefixTable {
  private bits = 17;
  private addrs = new Uint32Array(1 << this.bits);
  private lens = new Uint8Array(1 << this.bits);
  size = 0;

  private slot(addr: number, len: number): number {
    const mask = (1 << this.bits) - 1;
    let i = (Math.imul(addr ^ len, 0x9e3779b1) >>> (32 - this.bits)) & mask;
    // Stored as length + 1 so that 0.0.0.0/0 is a key like any other.
    while (this.lens[i] !== 0 && (this.addrs[i] !== addr || this.lens[i] !== len + 1)) i = (i + 1) & mask;
    return i;
  }

  /** Whether the prefix was new. */
  add(addr: number, len: number): boolean {
    const i = this.slot(addr, len);
    if (this.lens[i] !== 0) return false;
    this.addrs[i] = addr;
    this.lens[i] = len + 1;
    if (++this.size * 2 > this.lens.length) this.grow();
    return true;
  }

  private grow(): void {
    const { addrs, lens } = this;
    this.bits++;
    this.addrs = new Uint32Array(1 << this.bits);
    this.lens = new Uint8Array(1 << this.bits);
    for (let i = 0; i < lens.length; i++) {
      if (lens[i] === 0) continue;
      const k = this.slot(addrs[i]!, lens[i]! - 1);
      this.addrs[k] = addrs[i]!;
      this.lens[k] = lens[i]!;
    }
  }
}

/** The prefixes of an NLRI field as (address, length) pairs, address bits past the length zeroed. */
function readPrefixes(b: Buffer, from: number, to: number, out: number[]): void {
  let o = from;
  while (o < to) {
    const len = b[o++]!;
    const n = (len + 7) >> 3;
    let addr = 0;
    for (let k = 0; k < 4; k++) addr = (addr << 8) | (k < n ? b[o + k]! : 0);
    o += n;
    out.push(len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0, len);
  }
}

/** Where each outgoing UPDATE is built before it is copied out at its own length. */
const scratch = Buffer.alloc(MAX_MESSAGE_LENGTH, 0xff);

/** UPDATE messages announcing `prefixes` (address, length pairs) with `attrs`. */
function updates(prefixes: readonly number[], attrs: Buffer, out: Buffer[]): void {
  let i = 0;
  while (i < prefixes.length) {
    // The marker (16 x 0xff) is never overwritten; length, type and body are.
    scratch[HEADER_LENGTH - 1] = MessageType.Update;
    scratch.writeUInt16BE(0, HEADER_LENGTH);
    scratch.writeUInt16BE(attrs.length, HEADER_LENGTH + 2);
    attrs.copy(scratch, HEADER_LENGTH + 4);
    let o = HEADER_LENGTH + 4 + attrs.length;
    for (; i < prefixes.length; i += 2) {
      const addr = prefixes[i]!;
      const len = prefixes[i + 1]!;
      const n = (len + 7) >> 3;
      if (o + 1 + n > MAX_MESSAGE_LENGTH) break;
      scratch[o++] = len;
      for (let k = 0; k < n; k++) scratch[o++] = (addr >>> (24 - 8 * k)) & 0xff;
    }
    scratch.writeUInt16BE(o, 16);
    out.push(Buffer.from(scratch.subarray(0, o)));
  }
}

/** Our attributes for routes whose ORIGIN and AS_PATH values are these: AS prepended, ourselves as next hop. */
function exported(origin: number, asPath: Buffer): Buffer {
  // Into the first AS_SEQUENCE if it has room, else a segment of its own in front.
  const prepend = asPath.length >= 2 && asPath[0] === 2 && asPath[1]! < 255;
  const path = Buffer.alloc(asPath.length + (prepend ? 4 : 6));
  path[0] = 2;
  path[1] = prepend ? asPath[1]! + 1 : 1;
  path.writeUInt32BE(ASN, 2);
  asPath.copy(path, 6, prepend ? 2 : 0);
  const nextHop = Buffer.from(LOCAL.split('.').map(Number));
  const head = (type: number, len: number): Buffer =>
    len > 255 ? Buffer.from([0x50, type, len >> 8, len & 0xff]) : Buffer.from([0x40, type, len]);
  return Buffer.concat([head(1, 1), Buffer.from([origin]), head(2, path.length), path, head(3, 4), nextHop]);
}

const table = new PrefixTable();
let sink: net.Socket | undefined;
/** Outgoing attributes per incoming ORIGIN and AS_PATH (their bytes as text): made once per set. */
const attrCache = new Map<string, Buffer>();

function onUpdate(m: Buffer, out: Buffer[]): void {
  // The load announces only: withdrawn routes are not looked at.
  const wlen = m.readUInt16BE(HEADER_LENGTH);
  const alen = m.readUInt16BE(HEADER_LENGTH + 2 + wlen);
  const attrsFrom = HEADER_LENGTH + 4 + wlen;
  let origin = 2;
  let asPath: Buffer = Buffer.alloc(0);
  for (let o = attrsFrom; o < attrsFrom + alen;) {
    const flags = m[o]!;
    const type = m[o + 1]!;
    const ext = (flags & 0x10) !== 0;
    const len = ext ? m.readUInt16BE(o + 2) : m[o + 2]!;
    const v = o + (ext ? 4 : 3);
    if (type === 1) origin = m[v]!;
    else if (type === 2) asPath = m.subarray(v, v + len);
    o = v + len;
  }
  const added: number[] = [];
  const nlri: number[] = [];
  readPrefixes(m, attrsFrom + alen, m.length, nlri);
  for (let i = 0; i < nlri.length; i += 2) if (table.add(nlri[i]!, nlri[i + 1]!)) added.push(nlri[i]!, nlri[i + 1]!);
  if (added.length) {
    const key = `${origin}|${asPath.toString('latin1')}`;
    let attrs = attrCache.get(key);
    if (!attrs) attrCache.set(key, (attrs = exported(origin, asPath)));
    updates(added, attrs, out);
  }
}

/**
 * OPEN, KEEPALIVE for theirs, a KEEPALIVE every 30 s. UPDATEs go to `update`, and what it has to
 * send on goes to the second peer in one write per chunk read (a write per message made a
 * unique-MED load hold 100,000 buffers in the socket's queue).
 */
function session(socket: net.Socket, update: ((m: Buffer, out: Buffer[]) => void) | undefined, onUp: () => void): void {
  const framer = new Framer();
  socket.setNoDelay(true);
  socket.on('error', (e) => process.stderr.write(`${socket.remoteAddress}: ${e.message}\n`));
  socket.on('data', (chunk: Buffer) => {
    const out: Buffer[] = [];
    for (const m of framer.push(chunk)) {
      const type = m[18];
      if (type === MessageType.Open) socket.write(keepalive());
      else if (type === MessageType.Keepalive) onUp();
      else if (type === MessageType.Update) update?.(m, out);
      else if (type === MessageType.Notification) process.stderr.write(`NOTIFICATION from ${socket.remoteAddress}\n`);
    }
    if (out.length) sink?.write(Buffer.concat(out));
  });
  socket.write(encodeMessage(buildOpen({ asn: ASN, routerId: LOCAL, holdTime: 90, families: ['ipv4-unicast'] })));
  setInterval(() => socket.write(keepalive()), 30000).unref();
}

function connectSink(): void {
  const s = net.connect({ host: SINK, port: 179, localAddress: LOCAL });
  s.once('connect', () => session(s, undefined, () => (sink = s)));
  s.once('error', () => {
    if (sink !== s) setTimeout(connectSink, 500);
  });
}

net.createServer((s) => session(s, onUpdate, () => undefined)).listen(179, LOCAL);
connectSink();
if (COUNT_SOCKET) net.createServer((s) => s.end(String(table.size))).listen(COUNT_SOCKET);
