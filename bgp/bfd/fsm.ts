/**
 * The BFD session state machine of RFC 5880 section 6.2 / 6.8.6 as a pure table: for each local
 * state, the events it handles and the next state with the diagnostic to send. No timers, no I/O;
 * the session (session.ts) feeds it received states and detection timeouts.
 */
import { BfdState, Diag } from './packet';

export type BfdEvent =
  | 'RecvAdminDown'
  | 'RecvDown'
  | 'RecvInit'
  | 'RecvUp'
  /** No valid packet within the detection time (6.8.4). */
  | 'DetectTimeout'
  /** The operator (or the session's owner) takes the session down or back up. */
  | 'AdminDown'
  | 'AdminUp';

export interface BfdStep {
  next: BfdState;
  /** bfd.LocalDiag to set; unset keeps it. */
  diag?: Diag;
}

type Row = Partial<Record<BfdEvent, BfdStep>>;

const TABLE: Record<BfdState, Row> = {
  // 6.8.6: an AdminDown session discards what it receives; 6.8.16 brings it back to Down.
  [BfdState.AdminDown]: { AdminUp: { next: BfdState.Down, diag: Diag.None } },
  [BfdState.Down]: {
    RecvDown: { next: BfdState.Init },
    RecvInit: { next: BfdState.Up },
    AdminDown: { next: BfdState.AdminDown, diag: Diag.AdministrativelyDown },
  },
  [BfdState.Init]: {
    RecvAdminDown: { next: BfdState.Down, diag: Diag.NeighborSignaledSessionDown },
    RecvInit: { next: BfdState.Up },
    RecvUp: { next: BfdState.Up },
    DetectTimeout: { next: BfdState.Down, diag: Diag.ControlDetectionTimeExpired },
    AdminDown: { next: BfdState.AdminDown, diag: Diag.AdministrativelyDown },
  },
  [BfdState.Up]: {
    RecvAdminDown: { next: BfdState.Down, diag: Diag.NeighborSignaledSessionDown },
    RecvDown: { next: BfdState.Down, diag: Diag.NeighborSignaledSessionDown },
    DetectTimeout: { next: BfdState.Down, diag: Diag.ControlDetectionTimeExpired },
    AdminDown: { next: BfdState.AdminDown, diag: Diag.AdministrativelyDown },
  },
};

/** The step for `event` in `state`; events a state does not handle leave it where it is. */
export function bfdTransition(state: BfdState, event: BfdEvent): BfdStep {
  return TABLE[state][event] ?? { next: state };
}

export const RECEIVED_EVENT: Record<BfdState, BfdEvent> = {
  [BfdState.AdminDown]: 'RecvAdminDown',
  [BfdState.Down]: 'RecvDown',
  [BfdState.Init]: 'RecvInit',
  [BfdState.Up]: 'RecvUp',
};
