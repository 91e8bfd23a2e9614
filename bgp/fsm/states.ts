/** FSM states and events, named as in RFC 4271 section 8 (event numbers in comments). */

export enum State {
  Idle = 'Idle',
  Connect = 'Connect',
  Active = 'Active',
  OpenSent = 'OpenSent',
  OpenConfirm = 'OpenConfirm',
  Established = 'Established',
}

/** Display order: a peer shows the most advanced state among its connections. */
export const STATE_RANK: Record<State, number> = {
  [State.Idle]: 0,
  [State.Connect]: 1,
  [State.Active]: 1,
  [State.OpenSent]: 2,
  [State.OpenConfirm]: 3,
  [State.Established]: 4,
};

export type FsmEvent =
  | { type: 'ManualStart' } // 1
  | { type: 'ManualStop' } // 2
  | { type: 'AutomaticStart' } // 3
  | { type: 'ManualStartPassive' } // 4
  | { type: 'AutomaticStartPassive' } // 5
  | { type: 'ConnectRetryTimerExpires' } // 9
  | { type: 'HoldTimerExpires' } // 10
  | { type: 'KeepaliveTimerExpires' } // 11
  | { type: 'TcpConnectionConfirmed' } // 17: an incoming connection was accepted
  | { type: 'TcpCrAcked' } // 16: our outgoing connection succeeded
  | { type: 'TcpConnectionFails'; reason: string } // 18
  | { type: 'BgpOpen'; holdTime: number } // 19: a valid OPEN; holdTime is the negotiated one
  | { type: 'BgpHeaderErr'; code: number; subcode: number; data: Buffer } // 21
  | { type: 'BgpOpenMsgErr'; code: number; subcode: number; data: Buffer } // 22
  | { type: 'OpenCollisionDump' } // 23
  | { type: 'NotifMsgVerErr' } // 24
  | { type: 'NotifMsg'; code: number; subcode: number } // 25
  | { type: 'KeepAliveMsg' } // 26
  | { type: 'UpdateMsg' } // 27
  | { type: 'UpdateMsgErr'; code: number; subcode: number; data: Buffer } // 28
  | { type: 'RouteRefreshMsg' } // RFC 2918: handled like an UPDATE for timers
  /** Administrative stop with a chosen Cease subcode (RFC 4486), e.g. peer de-configured. */
  | { type: 'Shutdown'; subcode: number; data?: Buffer }
  /**
   * Closes the connection without a NOTIFICATION (RFC 4724): we stop for a graceful restart, or
   * the peer restarted and this is its old session. Peers with graceful restart keep the routes.
   */
  | { type: 'Release'; reason: string };

export type EventType = FsmEvent['type'];

export type Action =
  | { type: 'connect' }
  | { type: 'drop' }
  | { type: 'sendOpen' }
  | { type: 'sendKeepalive' }
  | { type: 'sendNotification'; code: number; subcode: number; data?: Buffer }
  | { type: 'startConnectRetryTimer' }
  | { type: 'stopConnectRetryTimer' }
  /** Hold timer: 'large' is the 4 minutes of RFC 4271 8.2.2 before the OPEN arrives. */
  | { type: 'startHoldTimer'; seconds: number | 'large' }
  | { type: 'restartHoldTimer' }
  | { type: 'stopHoldTimer' }
  | { type: 'startKeepaliveTimer' }
  | { type: 'stopKeepaliveTimer' }
  | { type: 'processUpdate' }
  | { type: 'processRouteRefresh' }
  | { type: 'sessionUp' }
  | { type: 'sessionDown' };

export interface Step {
  next: State;
  actions: Action[];
  /** Why the session ends, when it does (GoBGP fsmStateReasonType): shown by `bgp neighbors`. */
  reason?: string;
}
