/**
 * The FSM's timers: one-shot, restartable, and pushed back without a new Node timer each time
 * (the hold timer is pushed back by every UPDATE received).
 */
import { Timer } from '../../../bgp/fsm/timer';

describe('Timer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('fires once, after its period', () => {
    const fired = jest.fn();
    const t = new Timer(fired);
    t.start(1);
    jest.advanceTimersByTime(999);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(t.running).toBe(false);
    jest.advanceTimersByTime(10000);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('postponed, it fires its full period after the last postponement, with one Node timer throughout', () => {
    const fired = jest.fn();
    const t = new Timer(fired);
    t.start(90);
    const setTimeouts = jest.spyOn(global, 'setTimeout');
    for (let s = 1; s <= 60; s++) {
      jest.advanceTimersByTime(1000);
      for (let i = 0; i < 100; i++) t.postpone(90);
    }
    expect(setTimeouts).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(1);
    // Last pushed back at 60 s: due at 150 s, not at 90.
    jest.advanceTimersByTime(89999);
    expect(fired).not.toHaveBeenCalled();
    expect(t.running).toBe(true);
    jest.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('postponed to a shorter period (the hold time negotiated in OPEN), it fires at the new time', () => {
    const fired = jest.fn();
    const t = new Timer(fired);
    t.start(240);
    jest.advanceTimersByTime(1000);
    t.postpone(90);
    jest.advanceTimersByTime(89999);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('stopped, it does not fire; postponed when stopped, it starts', () => {
    const fired = jest.fn();
    const t = new Timer(fired);
    t.start(1);
    t.postpone(5);
    t.stop();
    jest.advanceTimersByTime(10000);
    expect(fired).not.toHaveBeenCalled();
    t.postpone(2);
    expect(t.running).toBe(true);
    jest.advanceTimersByTime(2000);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('restart keeps the period; with jitter it fires within 75-100 % of it', () => {
    const fired = jest.fn();
    const t = new Timer(fired, true);
    t.start(100);
    jest.advanceTimersByTime(50000);
    t.restart();
    jest.advanceTimersByTime(74999);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(25001);
    expect(fired).toHaveBeenCalledTimes(1);
  });
});
