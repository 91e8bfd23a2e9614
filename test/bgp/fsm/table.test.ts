/** The FSM table alone: no sockets, no timers (STYLE: test it with no I/O). */
import { transition } from '../../../bgp/fsm/table';
import { Action, FsmEvent, State } from '../../../bgp/fsm/states';

const types = (actions: Action[]): string[] =>
  actions.map((a) => (a.type === 'sendNotification' ? `notify ${a.code}/${a.subcode}` : a.type));

function run(start: State, ...events: FsmEvent[]): { state: State; actions: string[][] } {
  let state = start;
  const actions: string[][] = [];
  for (const e of events) {
    const step = transition(state, e);
    state = step.next;
    actions.push(types(step.actions));
  }
  return { state, actions };
}

const err = { code: 3, subcode: 1, data: Buffer.alloc(0) };

describe('FSM table', () => {
  it('active start: Idle -> Connect -> OpenSent -> OpenConfirm -> Established', () => {
    const r = run(State.Idle, { type: 'ManualStart' }, { type: 'TcpCrAcked' }, { type: 'BgpOpen', holdTime: 90 }, { type: 'KeepAliveMsg' });
    expect(r.state).toBe(State.Established);
    expect(r.actions).toEqual([
      ['startConnectRetryTimer', 'connect'],
      ['stopConnectRetryTimer', 'sendOpen', 'startHoldTimer'],
      ['sendKeepalive', 'startKeepaliveTimer', 'startHoldTimer'],
      ['restartHoldTimer', 'sessionUp'],
    ]);
  });

  it('passive start waits in Active for an incoming connection and never dials', () => {
    const r = run(State.Idle, { type: 'ManualStartPassive' }, { type: 'TcpConnectionConfirmed' });
    expect(r.state).toBe(State.OpenSent);
    // No ConnectRetryTimer: its expiry in Active would dial.
    expect(r.actions[0]).toEqual([]);
  });

  it('a failed connect waits in Active and retries when ConnectRetry expires', () => {
    const r = run(State.Connect, { type: 'TcpConnectionFails', reason: 'refused' }, { type: 'ConnectRetryTimerExpires' });
    expect(r.state).toBe(State.Connect);
    expect(r.actions).toEqual([['drop'], ['startConnectRetryTimer', 'connect']]);
  });

  it('hold time 0 negotiates no keepalives and no hold timer (RFC 4271 4.2)', () => {
    const step = transition(State.OpenSent, { type: 'BgpOpen', holdTime: 0 });
    expect(types(step.actions)).toEqual(['sendKeepalive', 'stopHoldTimer']);
  });

  it.each<[State, FsmEvent, string]>([
    [State.OpenSent, { type: 'HoldTimerExpires' }, 'notify 4/0'],
    [State.OpenConfirm, { type: 'HoldTimerExpires' }, 'notify 4/0'],
    [State.Established, { type: 'HoldTimerExpires' }, 'notify 4/0'],
    [State.OpenSent, { type: 'BgpOpenMsgErr', code: 2, subcode: 2, data: Buffer.alloc(0) }, 'notify 2/2'],
    [State.Established, { type: 'UpdateMsgErr', ...err }, 'notify 3/1'],
    [State.OpenConfirm, { type: 'OpenCollisionDump' }, 'notify 6/7'],
    [State.Established, { type: 'ManualStop' }, 'notify 6/2'],
    [State.Established, { type: 'Shutdown', subcode: 3 }, 'notify 6/3'],
    // RFC 6608: unexpected messages get FSM Error with the state's subcode.
    [State.OpenSent, { type: 'KeepAliveMsg' }, 'notify 5/1'],
    [State.OpenSent, { type: 'UpdateMsg' }, 'notify 5/1'],
    [State.OpenConfirm, { type: 'UpdateMsg' }, 'notify 5/2'],
    [State.Established, { type: 'BgpOpen', holdTime: 90 }, 'notify 5/3'],
  ])('%s + %o sends %s and closes', (state, event, notify) => {
    const step = transition(state, event);
    expect(step.next).toBe(State.Idle);
    expect(types(step.actions)).toContain(notify);
    expect(types(step.actions)).toContain('drop');
    expect(step.reason).toBeTruthy();
  });

  it('leaving Established always flushes the session (sessionDown) and stops timers', () => {
    for (const e of [
      { type: 'HoldTimerExpires' },
      { type: 'NotifMsg', code: 6, subcode: 2 },
      { type: 'TcpConnectionFails', reason: 'x' },
      { type: 'UpdateMsgErr', ...err },
    ] as FsmEvent[]) {
      const a = types(transition(State.Established, e).actions);
      expect(a).toEqual(expect.arrayContaining(['sessionDown', 'stopHoldTimer', 'stopKeepaliveTimer', 'drop']));
    }
  });

  it('a received NOTIFICATION is not answered with another', () => {
    for (const s of [State.OpenSent, State.OpenConfirm, State.Established]) {
      expect(types(transition(s, { type: 'NotifMsg', code: 6, subcode: 4 }).actions).some((a) => a.startsWith('notify'))).toBe(false);
    }
  });

  it('Established restarts the hold timer on KEEPALIVE, UPDATE and ROUTE-REFRESH', () => {
    expect(types(transition(State.Established, { type: 'KeepAliveMsg' }).actions)).toEqual(['restartHoldTimer']);
    expect(types(transition(State.Established, { type: 'UpdateMsg' }).actions)).toEqual(['restartHoldTimer', 'processUpdate']);
    expect(types(transition(State.Established, { type: 'RouteRefreshMsg' }).actions)).toEqual(['restartHoldTimer', 'processRouteRefresh']);
  });

  it('Idle ignores everything but a start', () => {
    for (const e of [{ type: 'KeepAliveMsg' }, { type: 'HoldTimerExpires' }, { type: 'ManualStop' }] as FsmEvent[]) {
      expect(transition(State.Idle, e)).toEqual({ next: State.Idle, actions: [] });
    }
  });

  it('every state answers every event without throwing', () => {
    const events: FsmEvent[] = [
      { type: 'ManualStart' },
      { type: 'ManualStop' },
      { type: 'AutomaticStart' },
      { type: 'ManualStartPassive' },
      { type: 'AutomaticStartPassive' },
      { type: 'ConnectRetryTimerExpires' },
      { type: 'HoldTimerExpires' },
      { type: 'KeepaliveTimerExpires' },
      { type: 'TcpConnectionConfirmed' },
      { type: 'TcpCrAcked' },
      { type: 'TcpConnectionFails', reason: 'x' },
      { type: 'BgpOpen', holdTime: 9 },
      { type: 'BgpHeaderErr', ...err },
      { type: 'BgpOpenMsgErr', ...err },
      { type: 'OpenCollisionDump' },
      { type: 'NotifMsgVerErr' },
      { type: 'NotifMsg', code: 6, subcode: 2 },
      { type: 'KeepAliveMsg' },
      { type: 'UpdateMsg' },
      { type: 'UpdateMsgErr', ...err },
      { type: 'RouteRefreshMsg' },
      { type: 'Shutdown', subcode: 2 },
    ];
    for (const s of Object.values(State)) for (const e of events) expect(() => transition(s, e)).not.toThrow();
  });
});
