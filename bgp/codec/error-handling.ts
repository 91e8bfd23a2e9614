/**
 * RFC 7606 outcomes for a malformed UPDATE, ordered by strength (section 3(f): with several
 * errors the strongest action wins). Session reset is not a value here: it is a thrown BgpError,
 * because it ends decoding at once.
 */
export enum ErrorAction {
  None = 0,
  /** Section 2: drop the attribute, keep the route. */
  AttributeDiscard = 1,
  /** Section 2: handle every NLRI in the UPDATE as withdrawn. */
  TreatAsWithdraw = 2,
}

export interface AttributeProblem {
  action: ErrorAction;
  /** Attribute type code, or undefined for message-level problems (e.g. a missing attribute). */
  code?: number;
  reason: string;
}

/** Thrown by an attribute decoder: the value is malformed; the table row decides the action. */
export class Malformed extends Error {}
