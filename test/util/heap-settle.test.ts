/**
 * The full collections after a burst of route changes: two (one when the changes stop, one a
 * few seconds later), never for small changes, postponed while a burst goes on; one after
 * start-up unless a burst's is due; malloc trimmed
 * after each and every 5 s; and the real collection is reachable without --expose-gc
 * and leaves no `gc` behind for later contexts.
 */
import vm from 'node:vm';
import pino from 'pino';
import { fullCollection, HeapSettle } from '../../src/util/heap-settle';

const log = pino({ level: 'silent' });

/** Collections made so far, once `ms` more have passed. */
function callsAfter(collect: jest.Mock, ms: number): number {
  jest.advanceTimersByTime(ms);
  return collect.mock.calls.length;
}

describe('HeapSettle', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('collects once the burst has been quiet, and again a few seconds later', () => {
    const collect = jest.fn();
    const settle = new HeapSettle(log, { minChanges: 1000, quietMs: 5000, followMs: 3000, collect });
    for (let i = 0; i < 10; i++) {
      settle.note(800);
      jest.advanceTimersByTime(1000); // still coming: nothing yet
    }
    expect([0, 4000, 3000, 60000].map((ms) => callsAfter(collect, ms))).toEqual([0, 1, 2, 2]);
  });

  it('a full table flapping every few seconds gets one collection a minute', () => {
    const collect = jest.fn();
    const settle = new HeapSettle(log, { minChanges: 1000, quietMs: 5000, followMs: 3000, minIntervalMs: 60000, collect });
    // A burst, then 6 s of quiet, over and over for three minutes.
    for (let t = 0; t < 180000; t += 6000) {
      settle.note(100000);
      jest.advanceTimersByTime(6000);
    }
    // Collections at 5 s, 65 s and 125 s (each second one called off by the next burst), not
    // the 60 of a pair per burst; the last burst's memory is still given back, a minute after
    // the last collection, and then nothing more.
    expect([0, 60000, 120000].map((ms) => callsAfter(collect, ms))).toEqual([3, 5, 5]);
  });

  it('collects once, a while after start-up converged, unless a burst collection is already due', () => {
    const collect = jest.fn();
    const settle = new HeapSettle(log, { minChanges: 1000, quietMs: 5000, followMs: 3000, collect });
    settle.settleIn(5000);
    expect([4999, 1, 60000].map((ms) => callsAfter(collect, ms))).toEqual([0, 1, 1]);
    // A burst under way: its own pair covers start-up's garbage, nothing is added.
    settle.note(1000);
    settle.settleIn(100);
    expect([4999, 1, 3000, 60000].map((ms) => callsAfter(collect, ms))).toEqual([1, 2, 3, 3]);
    settle.stop();
  });

  it('leaves small changes to V8, however long it runs', () => {
    const collect = jest.fn();
    const settle = new HeapSettle(log, { minChanges: 1000, collect });
    settle.note(999);
    jest.advanceTimersByTime(60000);
    expect(collect).not.toHaveBeenCalled();
    // They add up to a burst, counted from the last collection.
    settle.note(1);
    jest.advanceTimersByTime(60000);
    expect(collect).toHaveBeenCalledTimes(2);
  });

  it('stops with the process: nothing runs after stop()', () => {
    const collect = jest.fn();
    const trim = jest.fn(() => true);
    const settle = new HeapSettle(log, { minChanges: 1, collect, trim });
    settle.note(5);
    settle.stop();
    jest.advanceTimersByTime(120000);
    expect(collect).not.toHaveBeenCalled();
    expect(trim).not.toHaveBeenCalled();
  });

  it("trims malloc's heap every 5 s by default, and after each collection", () => {
    const collect = jest.fn();
    const trim = jest.fn(() => true);
    const settle = new HeapSettle(log, { minChanges: 1000, collect, trim });
    // Idle: a trim every 5 s and nothing else.
    expect([4999, 1, 5000].map((ms) => (jest.advanceTimersByTime(ms), trim.mock.calls.length))).toEqual([0, 1, 2]);
    // A burst: its collections (250 ms after it, and 3 s later) each trim too.
    settle.note(5000);
    jest.advanceTimersByTime(250);
    expect([collect.mock.calls.length, trim.mock.calls.length]).toEqual([1, 3]);
    jest.advanceTimersByTime(3000);
    expect([collect.mock.calls.length, trim.mock.calls.length]).toEqual([2, 4]);
    settle.stop();
  });

  it('a trim that throws (no addon) is said once and not tried again', () => {
    const warn = jest.fn();
    const trim = jest.fn((): boolean => {
      throw new Error('trimming malloc needs the native addon');
    });
    const settle = new HeapSettle({ ...log, warn, debug: () => undefined } as unknown as typeof log, { trim, trimEveryMs: 1000 });
    jest.advanceTimersByTime(10000);
    expect(trim).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledTimes(1);
    settle.stop();
  });

  it('a collection that throws is said once and not tried again', () => {
    const warn = jest.fn();
    const collect = jest.fn(() => {
      throw new Error('no');
    });
    const settle = new HeapSettle({ ...log, warn, debug: () => undefined } as unknown as typeof log, { minChanges: 1, collect });
    settle.note(5);
    jest.advanceTimersByTime(60000);
    settle.note(5);
    jest.advanceTimersByTime(60000);
    expect(collect).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe('fullCollection', () => {
  it("runs V8's full collection without --expose-gc, and exposes gc to no later context", () => {
    const collect = fullCollection();
    expect(typeof collect).toBe('function');
    expect(() => collect()).not.toThrow();
    expect(vm.runInNewContext('typeof gc')).toBe('undefined');
  });
});
