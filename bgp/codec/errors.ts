/**
 * NOTIFICATION error codes (RFC 4271 section 4.5, 6; RFC 4486, 6608, 7313, 8538) and the error
 * type every decoder throws. A BgpError carries exactly what goes into the NOTIFICATION, so the
 * session can answer any malformed input with the right code and subcode.
 */

export enum ErrorCode {
  MessageHeader = 1,
  OpenMessage = 2,
  UpdateMessage = 3,
  HoldTimerExpired = 4,
  FsmError = 5,
  Cease = 6,
  RouteRefreshMessage = 7,
}

export enum HeaderSubcode {
  ConnectionNotSynchronized = 1,
  BadMessageLength = 2,
  BadMessageType = 3,
}

export enum OpenSubcode {
  Unspecific = 0,
  UnsupportedVersionNumber = 1,
  BadPeerAs = 2,
  BadBgpIdentifier = 3,
  UnsupportedOptionalParameter = 4,
  UnacceptableHoldTime = 6,
  UnsupportedCapability = 7,
}

export enum UpdateSubcode {
  MalformedAttributeList = 1,
  UnrecognizedWellKnownAttribute = 2,
  MissingWellKnownAttribute = 3,
  AttributeFlagsError = 4,
  AttributeLengthError = 5,
  InvalidOriginAttribute = 6,
  InvalidNextHopAttribute = 8,
  OptionalAttributeError = 9,
  InvalidNetworkField = 10,
  MalformedAsPath = 11,
}

/** RFC 6608. */
export enum FsmSubcode {
  Unspecified = 0,
  UnexpectedInOpenSent = 1,
  UnexpectedInOpenConfirm = 2,
  UnexpectedInEstablished = 3,
}

/** RFC 4486, 8538. */
export enum CeaseSubcode {
  MaxPrefixes = 1,
  AdministrativeShutdown = 2,
  PeerDeconfigured = 3,
  AdministrativeReset = 4,
  ConnectionRejected = 5,
  OtherConfigurationChange = 6,
  ConnectionCollisionResolution = 7,
  OutOfResources = 8,
  HardReset = 9,
  /** RFC 9384: the BFD session protecting this BGP session went down. */
  BfdDown = 10,
}

/** RFC 7313 section 5. */
export enum RouteRefreshSubcode {
  InvalidMessageLength = 1,
}

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State',
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down',
  },
  7: { 1: 'Invalid Message Length' },
};

export function describeError(code: number, subcode: number): string {
  const name = CODE_NAMES[code] ?? `code ${code}`;
  const sub = SUBCODE_NAMES[code]?.[subcode];
  return sub ? `${name} / ${sub}` : subcode ? `${name} / subcode ${subcode}` : name;
}

/** Thrown by decoders; everything needed to build the NOTIFICATION. */
export class BgpError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly subcode: number,
    readonly data: Buffer = Buffer.alloc(0),
    detail?: string,
  ) {
    super(`${describeError(code, subcode)}${detail ? `: ${detail}` : ''}`);
    this.name = 'BgpError';
  }
}

export function isBgpError(e: unknown): e is BgpError {
  return e instanceof BgpError;
}
