/**
 * BFD for single-hop neighbours over UDP (RFC 5881): one receiving socket per address family
 * and port, one sending socket per session (source port 49152-65535, TTL 255), and the
 * demultiplexing of received packets to sessions (RFC 5880 6.3: by Your Discriminator, or by
 * source address while the neighbour does not know ours yet).
 *
 * Not done, and why: RFC 5881 5 asks receivers to drop packets whose TTL is not 255. Node's
 * dgram sockets do not report a packet's TTL (no IP_RECVTTL), and IP_MINTTL does not apply to
 * UDP on Linux, so packets from farther away are not refused by TTL; the session's own check
 * (session.ts: a forged packet must carry the neighbour's discriminator) limits what they can do.
 */
import dgram from 'node:dgram';
import crypto from 'node:crypto';
import { isIpv4, normalizeAddress } from '../../net';
import { BfdPacketError, decodeControl } from './packet';
import { BfdSession, BfdSettings } from './session';
import type { Logger } from '../log';

const SOURCE_PORT_MIN = 49152;
const SOURCE_PORT_SPAN = 65536 - SOURCE_PORT_MIN;
/** Distinct reasons for discarded packets remembered (each logged once). */
const MAX_LOGGED = 100;

interface Entry {
  session: BfdSession;
  socket: dgram.Socket;
}

export class BfdManager {
  private readonly sessions = new Map<string, Entry>();
  private readonly byDiscr = new Map<number, BfdSession>();
  /** Receiving sockets by "udp4:3784". */
  private readonly receivers = new Map<string, dgram.Socket>();
  private readonly logged = new Set<string>();
  /** Packets dropped before reaching a session (undecodable, unknown discriminator, authenticated). */
  discarded = 0;

  constructor(private readonly log: Logger) {}

  get(peer: string): BfdSession | undefined {
    return this.sessions.get(normalizeAddress(peer)!)?.session;
  }

  /**
   * Starts a session with `peer`, sent from `localAddress` (the BGP session's, so that the
   * neighbour matches it to its own session). Resolves once its sockets are bound.
   */
  async add(peer: string, localAddress: string | undefined, settings: BfdSettings): Promise<BfdSession> {
    const key = normalizeAddress(peer)!;
    const existing = this.sessions.get(key);
    if (existing) return existing.session;
    const type = isIpv4(key) ? 'udp4' : 'udp6';
    await this.receiver(type, settings.port);
    const socket = await bindSender(type, localAddress);
    let discr = 0;
    while (discr === 0 || this.byDiscr.has(discr)) discr = crypto.randomBytes(4).readUInt32BE(0);
    const log = this.log.child({ bfd: key });
    const session = new BfdSession(key, discr, settings, (b) => socket.send(b, settings.port, key), log);
    socket.on('error', (err) => log.warn({ event: 'bfd', err: err.message }, 'BFD send socket error'));
    // A race with remove() while binding: the later call wins.
    if (this.sessions.has(key)) {
      socket.close();
      return this.sessions.get(key)!.session;
    }
    this.sessions.set(key, { session, socket });
    this.byDiscr.set(discr, session);
    session.start();
    return session;
  }

  remove(peer: string): void {
    const key = normalizeAddress(peer)!;
    const e = this.sessions.get(key);
    if (!e) return;
    this.sessions.delete(key);
    this.byDiscr.delete(e.session.localDiscr);
    e.session.close();
    e.session.removeAllListeners();
    // Let the AdminDown packet leave before the socket closes.
    setImmediate(() => e.socket.close());
  }

  /** Tells every neighbour AdminDown and closes all sockets. */
  close(): void {
    for (const peer of [...this.sessions.keys()]) this.remove(peer);
    for (const s of this.receivers.values()) s.close();
    this.receivers.clear();
  }

  private async receiver(type: 'udp4' | 'udp6', port: number): Promise<void> {
    const key = `${type}:${port}`;
    if (this.receivers.has(key)) return;
    const s = dgram.createSocket({ type, reuseAddr: true, ...(type === 'udp6' ? { ipv6Only: true } : {}) });
    this.receivers.set(key, s);
    s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address));
    s.on('error', (err) => this.log.warn({ event: 'bfd', port, err: err.message }, 'BFD receive socket error'));
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind({ port, address: type === 'udp4' ? '0.0.0.0' : '::' }, () => {
          s.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      this.receivers.delete(key);
      closeQuietly(s);
      throw new Error(`BFD: cannot listen on ${type} port ${port}: ${(e as Error).message}`);
    }
  }

  private onMessage(msg: Buffer, from: string): void {
    const source = normalizeAddress(from)!;
    let packet;
    try {
      packet = decodeControl(msg);
    } catch (e) {
      return this.discard(source, e instanceof BfdPacketError ? e.message : `undecodable: ${String(e)}`);
    }
    // 6.8.6: authentication is not in use, so an authenticated packet is discarded.
    if (packet.auth) return this.discard(source, 'authentication present, none configured');
    const session = packet.yourDiscr !== 0 ? this.byDiscr.get(packet.yourDiscr) : this.sessions.get(source)?.session;
    if (!session) return this.discard(source, packet.yourDiscr !== 0 ? 'unknown Your Discriminator' : 'no BFD session with this address');
    // Single hop: a session's packets come from its neighbour's address.
    if (session.peer !== source) return this.discard(source, `discriminator of the session with ${session.peer}`);
    session.receive(packet);
  }

  private discard(source: string, why: string): void {
    this.discarded++;
    const key = `${source} ${why}`;
    if (this.logged.has(key) || this.logged.size >= MAX_LOGGED) return;
    this.logged.add(key);
    this.log.info({ event: 'bfd', from: source, why }, 'discarded a BFD packet (logged once per source and reason)');
  }
}

/** A socket bound to a free source port in 49152-65535 (RFC 5881 4), sending with TTL 255. */
async function bindSender(type: 'udp4' | 'udp6', address: string | undefined): Promise<dgram.Socket> {
  const start = crypto.randomInt(SOURCE_PORT_SPAN);
  let lastError: Error | undefined;
  for (let i = 0; i < 64; i++) {
    const port = SOURCE_PORT_MIN + ((start + i * 997) % SOURCE_PORT_SPAN);
    const s = dgram.createSocket({ type });
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind({ port, ...(address ? { address } : {}), exclusive: true }, () => {
          s.off('error', reject);
          resolve();
        });
      });
      s.setTTL(255);
      return s;
    } catch (e) {
      lastError = e as Error;
      closeQuietly(s);
    }
  }
  throw new Error(`BFD: no free source port in 49152-65535: ${lastError?.message}`);
}

function closeQuietly(s: dgram.Socket): void {
  try {
    s.close();
  } catch {
    // never bound: nothing to close
  }
}
