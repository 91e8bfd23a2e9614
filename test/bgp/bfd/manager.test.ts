/**
 * The BFD manager over real UDP on loopback, against a hand-driven neighbour socket on
 * 127.0.0.2: RFC 5881 ports, the handshake, and what a hostile or broken sender can do (garbage,
 * truncated packets, unknown or stolen discriminators, authentication we do not use): the
 * packets are discarded and counted, the session stays Up, and nothing throws.
 */
import dgram from 'node:dgram';
import crypto from 'node:crypto';
import { BfdManager } from '../../../bgp/bfd/manager';
import { BfdState, ControlPacket, decodeControl, encodeControl } from '../../../bgp/bfd/packet';
import { silentLogger } from '../../../bgp/log';
import { controlPacket } from '../../helpers/bfd';
import { until } from '../../../lab/wait';

const PORT = 20000 + crypto.randomInt(20000);

describe('BFD manager on loopback (RFC 5881)', () => {
  let manager: BfdManager;
  let neighbour: dgram.Socket;
  const received: { packet: ControlPacket; port: number; address: string }[] = [];

  beforeAll(async () => {
    manager = new BfdManager(silentLogger);
    neighbour = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    neighbour.on('message', (msg, rinfo) => received.push({ packet: decodeControl(msg), port: rinfo.port, address: rinfo.address }));
    await new Promise<void>((resolve) => neighbour.bind({ port: PORT, address: '127.0.0.2' }, resolve));
  });
  afterAll(() => {
    manager.close();
    neighbour.close();
  });

  const send = (b: Buffer): Promise<void> =>
    new Promise((resolve, reject) => neighbour.send(b, PORT, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  const ours = (p: Partial<ControlPacket>): Buffer =>
    encodeControl(controlPacket({ myDiscr: 4242, desiredMinTx: 200_000, requiredMinRx: 200_000, ...p }));

  it('sends from one source port in 49152-65535 to the BFD port, comes Up, and survives hostile packets', async () => {
    const session = await manager.add('127.0.0.2', '127.0.0.1', {
      port: PORT,
      detectMultiplier: 3,
      desiredMinTxMs: 200,
      requiredMinRxMs: 200,
    });
    await until(async () => received.length >= 1, 5000, 'first packet');
    const first = received[0]!;
    expect(first.address).toBe('127.0.0.1');
    expect(first.port).toBeGreaterThanOrEqual(49152);
    expect(first.packet).toMatchObject({ state: BfdState.Down, yourDiscr: 0, desiredMinTx: 1_000_000, requiredMinRx: 200_000 });
    const discr = first.packet.myDiscr;

    await send(ours({ state: BfdState.Init, yourDiscr: discr }));
    await until(async () => session.state === BfdState.Up, 3000, 'Up');
    // Keep it Up as a live neighbour would, and throw hostile packets in between.
    const keepalive = setInterval(() => void send(ours({ state: BfdState.Up, yourDiscr: discr })), 100);
    try {
      const before = manager.discarded;
      const hostile = [
        crypto.randomBytes(3),
        crypto.randomBytes(200),
        ours({ state: BfdState.Up, yourDiscr: discr }).subarray(0, 23),
        ours({ state: BfdState.Down, yourDiscr: discr ^ 1 }), // not ours
        ours({ state: BfdState.Down, yourDiscr: discr, auth: true }), // authentication we do not use
        Buffer.from(ours({ state: BfdState.Down, yourDiscr: discr })).fill(0xff, 0, 1), // version 7
      ];
      for (const b of hostile) await send(b);
      // A Down from the neighbour's address with another discriminator and without ours: ignored by the session.
      await send(ours({ state: BfdState.Down, myDiscr: 777, yourDiscr: 0 }));
      await until(async () => manager.discarded >= before + hostile.length, 3000, 'hostile packets discarded');
      await new Promise((r) => setTimeout(r, 300));
      expect(session.state).toBe(BfdState.Up);
      expect(session.view().packetsIgnored).toBe(1);
    } finally {
      clearInterval(keepalive);
    }
    // A source port that stays the same for the session (RFC 5881 4).
    expect(new Set(received.map((r) => r.port)).size).toBe(1);

    // Silence: down within the detection time (3 x 200 ms), reported as a failure.
    const failed = new Promise<string>((resolve) => session.once('failed', resolve));
    const t0 = Date.now();
    expect(await failed).toBe('BFD down: control detection time expired');
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('tells the neighbour AdminDown when the session is removed', async () => {
    received.length = 0;
    manager.remove('127.0.0.2');
    await until(async () => received.some((r) => r.packet.state === BfdState.AdminDown), 3000, 'AdminDown');
    expect(manager.get('127.0.0.2')).toBeUndefined();
  });
});
