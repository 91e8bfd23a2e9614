/** A BFD Control packet for tests: a Down packet from discriminator 0x01020304, with `over` applied. */
import { BfdState, ControlPacket } from '../../bgp/bfd/packet';

export const controlPacket = (over: Partial<ControlPacket> = {}): ControlPacket => ({
  diag: 0,
  state: BfdState.Down,
  poll: false,
  final: false,
  cpi: false,
  auth: false,
  demand: false,
  detectMult: 3,
  myDiscr: 0x01020304,
  yourDiscr: 0,
  desiredMinTx: 1_000_000,
  requiredMinRx: 300_000,
  requiredMinEchoRx: 0,
  ...over,
});
