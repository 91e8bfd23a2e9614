/**
 * The BGP finite state machine of RFC 4271 section 8.2.2 as a pure table: for each state, the
 * events it handles and what they produce (next state and actions). `transition` has no I/O and
 * no timers; the connection driver executes the actions. Deliberate differences from the RFC:
 * - TcpConnectionFails in Connect goes to Active and keeps the ConnectRetryTimer running (as BIRD
 *   and GoBGP do) instead of Idle, so an unreachable peer is retried without an automatic start;
 * - a passive start arms no ConnectRetryTimer, so a passive peer waits in Active and never dials;
 * - DelayOpen, DampPeerOscillations and the optional collision detection in Established are not
 *   implemented (connection collisions are resolved per RFC 4271 6.8 before the FSM sees BgpOpen).
 */
import { ErrorCode, FsmSubcode, CeaseSubcode } from '../codec/errors';
import { Action, EventType, FsmEvent, State, Step } from './states';

type Handler<E extends FsmEvent = FsmEvent> = (e: E) => Step;
type Row = { [T in EventType]?: Handler<Extract<FsmEvent, { type: T }>> } & { otherwise: Handler };

const go = (next: State, ...actions: Action[]): Step => ({ next, actions });
const down = (reason: string, ...actions: Action[]): Step => ({ next: State.Idle, actions: [...actions, { type: 'drop' }], reason });
const notify = (code: number, subcode: number, data?: Buffer): Action => ({ type: 'sendNotification', code, subcode, data });
const stopTimers: Action[] = [{ type: 'stopConnectRetryTimer' }, { type: 'stopHoldTimer' }, { type: 'stopKeepaliveTimer' }];

/** Events every state with a TCP connection handles the same way. */
function connected(fsmSubcode: FsmSubcode, sessionDown: Action[]): Omit<Row, 'otherwise'> & { otherwise: Handler } {
  return {
    ManualStop: () =>
      down('administratively stopped', notify(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown), ...stopTimers, ...sessionDown),
    Shutdown: (e) =>
      down(`stopped (Cease subcode ${e.subcode})`, notify(ErrorCode.Cease, e.subcode, e.data), ...stopTimers, ...sessionDown),
    Release: (e) => down(e.reason, ...stopTimers, ...sessionDown),
    HoldTimerExpires: () => down('hold timer expired', notify(ErrorCode.HoldTimerExpired, 0), ...stopTimers, ...sessionDown),
    TcpConnectionFails: (e) => down(`connection lost: ${e.reason}`, ...stopTimers, ...sessionDown),
    BgpHeaderErr: (e) => down('sent NOTIFICATION: bad message header', notify(e.code, e.subcode, e.data), ...stopTimers, ...sessionDown),
    BgpOpenMsgErr: (e) => down('sent NOTIFICATION: bad OPEN', notify(e.code, e.subcode, e.data), ...stopTimers, ...sessionDown),
    UpdateMsgErr: (e) => down('sent NOTIFICATION: bad UPDATE', notify(e.code, e.subcode, e.data), ...stopTimers, ...sessionDown),
    OpenCollisionDump: () =>
      down('connection collision', notify(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution), ...stopTimers, ...sessionDown),
    NotifMsg: (e) => down(`received NOTIFICATION ${e.code}/${e.subcode}`, ...stopTimers, ...sessionDown),
    NotifMsgVerErr: () => down('received NOTIFICATION: unsupported version', ...stopTimers, ...sessionDown),
    // RFC 4271 8.2.2 "any other event" + RFC 6608 subcodes.
    otherwise: (e) => down(`unexpected ${e.type}`, notify(ErrorCode.FsmError, fsmSubcode), ...stopTimers, ...sessionDown),
  };
}

const ignore =
  (s: State): Handler =>
  () =>
    go(s);
const startActive: Handler = () => go(State.Connect, { type: 'startConnectRetryTimer' }, { type: 'connect' });
// Passive means never dial (BIRD "passive on", GoBGP passive-mode): no ConnectRetryTimer, whose
// expiry in Active would make the RFC FSM dial after all.
const startPassive: Handler = () => go(State.Active);
const sendOpen = (): Step =>
  go(State.OpenSent, { type: 'stopConnectRetryTimer' }, { type: 'sendOpen' }, { type: 'startHoldTimer', seconds: 'large' });
const stopped: Handler = () => down('administratively stopped', { type: 'stopConnectRetryTimer' });

const TABLE: Record<State, Row> = {
  [State.Idle]: {
    ManualStart: startActive,
    AutomaticStart: startActive,
    ManualStartPassive: startPassive,
    AutomaticStartPassive: startPassive,
    otherwise: ignore(State.Idle),
  },
  [State.Connect]: {
    ManualStop: stopped,
    Shutdown: stopped,
    Release: stopped,
    ConnectRetryTimerExpires: () => go(State.Connect, { type: 'drop' }, { type: 'startConnectRetryTimer' }, { type: 'connect' }),
    TcpCrAcked: sendOpen,
    TcpConnectionConfirmed: sendOpen,
    TcpConnectionFails: () => go(State.Active, { type: 'drop' }),
    otherwise: (e) => down(`unexpected ${e.type} in Connect`, { type: 'stopConnectRetryTimer' }),
  },
  [State.Active]: {
    ManualStop: stopped,
    Shutdown: stopped,
    Release: stopped,
    ConnectRetryTimerExpires: () => go(State.Connect, { type: 'startConnectRetryTimer' }, { type: 'connect' }),
    TcpConnectionConfirmed: sendOpen,
    TcpCrAcked: sendOpen,
    TcpConnectionFails: () => go(State.Active, { type: 'drop' }),
    otherwise: (e) => down(`unexpected ${e.type} in Active`, { type: 'stopConnectRetryTimer' }),
  },
  [State.OpenSent]: {
    ...connected(FsmSubcode.UnexpectedInOpenSent, []),
    // The OPEN was checked (and collisions resolved) before this event; hold time is negotiated.
    BgpOpen: (e) =>
      e.holdTime === 0
        ? go(State.OpenConfirm, { type: 'sendKeepalive' }, { type: 'stopHoldTimer' })
        : go(
            State.OpenConfirm,
            { type: 'sendKeepalive' },
            { type: 'startKeepaliveTimer' },
            { type: 'startHoldTimer', seconds: e.holdTime },
          ),
  },
  [State.OpenConfirm]: {
    ...connected(FsmSubcode.UnexpectedInOpenConfirm, []),
    KeepaliveTimerExpires: () => go(State.OpenConfirm, { type: 'sendKeepalive' }, { type: 'startKeepaliveTimer' }),
    KeepAliveMsg: () => go(State.Established, { type: 'restartHoldTimer' }, { type: 'sessionUp' }),
  },
  [State.Established]: {
    ...connected(FsmSubcode.UnexpectedInEstablished, [{ type: 'sessionDown' }]),
    KeepaliveTimerExpires: () => go(State.Established, { type: 'sendKeepalive' }, { type: 'startKeepaliveTimer' }),
    KeepAliveMsg: () => go(State.Established, { type: 'restartHoldTimer' }),
    UpdateMsg: () => go(State.Established, { type: 'restartHoldTimer' }, { type: 'processUpdate' }),
    RouteRefreshMsg: () => go(State.Established, { type: 'restartHoldTimer' }, { type: 'processRouteRefresh' }),
  },
};

export function transition(state: State, event: FsmEvent): Step {
  const row = TABLE[state];
  const handler = (row[event.type] as Handler | undefined) ?? row.otherwise;
  return handler(event);
}
