/**
 * BFD Control packets (RFC 5880 section 4.1) as pure functions over Buffers. Decoding applies the
 * checks of section 6.8.6 that need only the packet; the ones that need a session (discriminator
 * lookup, authentication in use) are the session table's.
 */

export const BFD_VERSION = 1;
/** Length of a Control packet without authentication. */
export const CONTROL_LENGTH = 24;

export enum BfdState {
  AdminDown = 0,
  Down = 1,
  Init = 2,
  Up = 3,
}

export const STATE_NAMES: Record<BfdState, string> = {
  [BfdState.AdminDown]: 'AdminDown',
  [BfdState.Down]: 'Down',
  [BfdState.Init]: 'Init',
  [BfdState.Up]: 'Up',
};

/** RFC 5880 4.1 diagnostic codes. */
export enum Diag {
  None = 0,
  ControlDetectionTimeExpired = 1,
  EchoFunctionFailed = 2,
  NeighborSignaledSessionDown = 3,
  ForwardingPlaneReset = 4,
  PathDown = 5,
  ConcatenatedPathDown = 6,
  AdministrativelyDown = 7,
  ReverseConcatenatedPathDown = 8,
}

export const DIAG_TEXT: Record<number, string> = {
  [Diag.None]: 'no diagnostic',
  [Diag.ControlDetectionTimeExpired]: 'control detection time expired',
  [Diag.EchoFunctionFailed]: 'echo function failed',
  [Diag.NeighborSignaledSessionDown]: 'neighbor signaled session down',
  [Diag.ForwardingPlaneReset]: 'forwarding plane reset',
  [Diag.PathDown]: 'path down',
  [Diag.ConcatenatedPathDown]: 'concatenated path down',
  [Diag.AdministrativelyDown]: 'administratively down',
  [Diag.ReverseConcatenatedPathDown]: 'reverse concatenated path down',
};

export interface ControlPacket {
  diag: number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  /** C: the sender's BFD does not share fate with its control plane. */
  cpi: boolean;
  /** A: an authentication section follows (we never send one). */
  auth: boolean;
  demand: boolean;
  detectMult: number;
  myDiscr: number;
  yourDiscr: number;
  /** Microseconds, as on the wire. */
  desiredMinTx: number;
  requiredMinRx: number;
  requiredMinEchoRx: number;
}

/** A packet the receiver must discard (RFC 5880 6.8.6), with why. */
export class BfdPacketError extends Error {
  override name = 'BfdPacketError';
}

export function encodeControl(p: ControlPacket): Buffer {
  const b = Buffer.alloc(CONTROL_LENGTH);
  b[0] = (BFD_VERSION << 5) | (p.diag & 0x1f);
  b[1] =
    ((p.state & 3) << 6) | (p.poll ? 0x20 : 0) | (p.final ? 0x10 : 0) | (p.cpi ? 0x08 : 0) | (p.auth ? 0x04 : 0) | (p.demand ? 0x02 : 0);
  b[2] = p.detectMult;
  b[3] = CONTROL_LENGTH;
  b.writeUInt32BE(p.myDiscr >>> 0, 4);
  b.writeUInt32BE(p.yourDiscr >>> 0, 8);
  b.writeUInt32BE(p.desiredMinTx >>> 0, 12);
  b.writeUInt32BE(p.requiredMinRx >>> 0, 16);
  b.writeUInt32BE(p.requiredMinEchoRx >>> 0, 20);
  return b;
}

/** Decodes one UDP payload; throws BfdPacketError for a packet RFC 5880 6.8.6 says to discard. */
export function decodeControl(b: Buffer): ControlPacket {
  if (b.length < CONTROL_LENGTH) throw new BfdPacketError(`${b.length} octets, shorter than a Control packet (24)`);
  const version = b[0]! >> 5;
  if (version !== BFD_VERSION) throw new BfdPacketError(`version ${version}, not 1`);
  const flags = b[1]!;
  const auth = (flags & 0x04) !== 0;
  const length = b[3]!;
  const least = auth ? CONTROL_LENGTH + 2 : CONTROL_LENGTH;
  if (length < least) throw new BfdPacketError(`length field ${length}, less than ${least}`);
  if (length > b.length) throw new BfdPacketError(`length field ${length}, more than the ${b.length} octets received`);
  const detectMult = b[2]!;
  if (detectMult === 0) throw new BfdPacketError('detect multiplier 0');
  if (flags & 0x01) throw new BfdPacketError('multipoint bit set');
  const myDiscr = b.readUInt32BE(4);
  if (myDiscr === 0) throw new BfdPacketError('my discriminator 0');
  const state = (flags >> 6) as BfdState;
  const yourDiscr = b.readUInt32BE(8);
  if (yourDiscr === 0 && state !== BfdState.Down && state !== BfdState.AdminDown)
    throw new BfdPacketError(`your discriminator 0 in state ${STATE_NAMES[state]}`);
  const poll = (flags & 0x20) !== 0;
  const final = (flags & 0x10) !== 0;
  if (poll && final) throw new BfdPacketError('poll and final both set');
  return {
    diag: b[0]! & 0x1f,
    state,
    poll,
    final,
    cpi: (flags & 0x08) !== 0,
    auth,
    demand: (flags & 0x02) !== 0,
    detectMult,
    myDiscr,
    yourDiscr,
    desiredMinTx: b.readUInt32BE(12),
    requiredMinRx: b.readUInt32BE(16),
    requiredMinEchoRx: b.readUInt32BE(20),
  };
}
