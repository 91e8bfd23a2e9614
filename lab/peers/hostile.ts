/**
 * A neighbour that misbehaves on purpose, for chaos tests: it runs in the namespace holding a
 * configured neighbour's address (so the speaker accepts its connections) and resets them in
 * every FSM state, storms, collides, holds half-open sockets and sends what it is told. Each
 * step returns what it saw, as JSON, so a test can run it through `ip netns exec`.
 */
import net from 'node:net';
import { Framer } from '../../bgp/codec/framer';
import { decodeMessage, encodeMessage, keepalive } from '../../bgp/codec/message';
import { MessageType } from '../../bgp/codec/constants';
import { buildOpen } from '../../bgp/session/negotiate';

export interface HostileTarget {
  host: string;
  port: number;
  /** Our side of the session: AS and router ID in the OPEN. */
  asn: number;
  routerId: string;
}

/** Where in the handshake a connection is reset. */
export type ResetPoint = 'connected' | 'openSent' | 'openConfirm' | 'established' | 'midMessage';

/** One connection as a hostile peer drives it: messages in as they arrive, RST or close at will. */
class Conn {
  readonly received: { type: number; code?: number; subcode?: number }[] = [];
  closed = false;
  private framer = new Framer();
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      try {
        for (const m of this.framer.push(chunk)) {
          const msg = decodeMessage(m);
          this.received.push(
            msg.type === MessageType.Notification ? { type: msg.type, code: msg.code, subcode: msg.subcode } : { type: msg.type },
          );
        }
      } catch {
        this.received.push({ type: -1 });
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(t: HostileTarget): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: t.host, port: t.port });
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until a message of `type` arrived (or the connection closed, or time ran out). */
  async until(type: number, ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.received.some((m) => m.type === type)) {
      if (this.closed || Date.now() > deadline) return false;
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return true;
  }

  send(buf: Buffer): void {
    this.socket.write(buf);
  }

  reset(): void {
    this.socket.resetAndDestroy();
  }
}

const open = (t: HostileTarget): Buffer =>
  encodeMessage(buildOpen({ asn: t.asn, routerId: t.routerId, holdTime: 90, families: ['ipv4-unicast'] }));

/** Opens a connection and walks it to Established (OPEN, KEEPALIVE both ways). */
export async function establish(t: HostileTarget): Promise<Conn> {
  const c = await Conn.open(t);
  await c.until(MessageType.Open);
  c.send(open(t));
  await c.until(MessageType.Keepalive);
  c.send(keepalive());
  return c;
}

/** Resets a connection at one point of the handshake; returns the message types seen before. */
export async function resetAt(t: HostileTarget, point: ResetPoint): Promise<number[]> {
  const c = await Conn.open(t);
  if (point !== 'connected') {
    await c.until(MessageType.Open);
    if (point !== 'openSent') {
      c.send(open(t));
      await c.until(MessageType.Keepalive);
      if (point === 'established' || point === 'midMessage') {
        c.send(keepalive());
        await new Promise((r) => setTimeout(r, 100));
        // Half a message: the speaker holds 10 octets of an UPDATE when the RST comes.
        if (point === 'midMessage') c.send(Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 200, 2, 0, 0, 0])]));
      }
    }
  }
  c.reset();
  return c.received.map((m) => m.type);
}

/** `count` connections at once, each reset as soon as it is up; resolves to how many connected. */
export async function resetStorm(t: HostileTarget, count: number): Promise<number> {
  const done = await Promise.all(
    Array.from({ length: count }, async () => {
      try {
        (await Conn.open(t)).reset();
        return 1;
      } catch {
        return 0;
      }
    }),
  );
  return done.reduce((a: number, b) => a + b, 0);
}

/**
 * While a session is Established, a second connection runs its own OPEN: the speaker must
 * refuse it (Cease 7, collision) and keep the first. Both are reset afterwards.
 */
export async function collide(
  t: HostileTarget,
): Promise<{ firstSurvived: boolean; second: { type: number; code?: number; subcode?: number }[] }> {
  const first = await establish(t);
  const second = await Conn.open(t);
  second.send(open(t));
  await second.until(MessageType.Notification, 3000);
  await new Promise((r) => setTimeout(r, 200));
  const firstSurvived = !first.closed && !first.received.some((m) => m.type === MessageType.Notification);
  second.reset();
  first.reset();
  return { firstSurvived, second: second.received };
}

/** `count` connections that never send a byte, held `ms`, then dropped; how many the speaker closed meanwhile. */
export async function halfOpen(t: HostileTarget, count: number, ms: number): Promise<number> {
  const conns: Conn[] = [];
  for (let i = 0; i < count; i++) conns.push(await Conn.open(t));
  await new Promise((r) => setTimeout(r, ms));
  const closed = conns.filter((c) => c.closed).length;
  for (const c of conns) c.reset();
  return closed;
}

/**
 * Establishes, sends `messages` (hex), waits `ms`, and returns what came back; the connection is
 * reset at the end unless the speaker closed it.
 */
export async function sendAll(
  t: HostileTarget,
  messages: string[],
  ms: number,
): Promise<{ received: { type: number; code?: number; subcode?: number }[]; closed: boolean }> {
  const c = await establish(t);
  for (const m of messages) c.send(Buffer.from(m, 'hex'));
  await new Promise((r) => setTimeout(r, ms));
  const closed = c.closed;
  if (!closed) c.reset();
  return { received: c.received, closed };
}
