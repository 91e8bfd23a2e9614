/**
 * The speaker's warm-up (bgp/speaker/warm-up.ts): its synthetic table is valid and as varied as
 * it says, the throwaway speaker passes every route on, and it leaves nothing running behind
 * (no socket, no timer) and nothing in another speaker. What it is for, a faster first table,
 * is measured by bench/rib-load.ts (docs/benchmarks.md).
 */
import { decodeMessage, MessageType, type ReceivedUpdate } from '../../../bgp/codec';
import { warmUp, warmUpTable } from '../../../bgp/speaker/warm-up';
import { Speaker } from '../../../bgp/speaker/speaker';
import { captureLogger } from '../../helpers/capture-logger';
import { warmUpOrWarn } from '../../../src/cli/run-speaker';

const sockets = (): string[] => process.getActiveResourcesInfo().filter((r) => /TCP|UDP/.test(r));

describe('speaker warm-up', () => {
  it('sends a valid table of every kind it names: packed, one route per UPDATE, IPv6, withdrawals', () => {
    const routes = 5000;
    const updates = warmUpTable(routes, { as4: true }).map((m) => decodeMessage(m, { as4: true }) as ReceivedUpdate);
    expect(updates.every((u) => u.type === MessageType.Update && u.problems.length === 0 && u.withdrawnByError.length === 0)).toBe(true);
    const announced = updates.flatMap((u) => u.nlri);
    const v6 = updates.flatMap((u) => u.attributes.flatMap((a) => (a.kind === 'mpReach' ? a.nlri : [])));
    const withdrawn = updates.flatMap((u) => u.withdrawn);
    expect(announced.length + v6.length).toBe(routes);
    expect(v6.length).toBe(routes / 5);
    expect(new Set(v6).size).toBe(v6.length);
    expect(withdrawn.length).toBe(routes - 2 * (routes / 5));
    // One route per UPDATE for a fifth of them, each with a MED of its own.
    const single = updates.filter((u) => u.nlri.length === 1);
    expect(single.length).toBe(routes / 5);
    const meds = single.map((u) => u.attributes.flatMap((a) => (a.kind === 'med' ? [a.med] : [])));
    expect(meds.every((m) => m.length === 1)).toBe(true);
    expect(new Set(meds.flat()).size).toBe(routes / 5);
    // The packed routes: /24s and /32s, under four attribute sets.
    const packed = updates.filter((u) => u.nlri.length > 1);
    expect(new Set(packed.map((u) => JSON.stringify(u.attributes))).size).toBe(4);
  });

  it('passes every route through a throwaway speaker and leaves no socket, timer or route behind', async () => {
    const other = new Speaker({ asn: 64512, routerId: '10.0.0.1', listen: false });
    other.originate('10.1.0.0/24');
    // The sessions' timers are unref'd (Node does not list them): counted by jest's clock instead.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask', 'performance'] });
    // warmUp throws unless its second session was sent every route still announced at the end.
    const r = await warmUp(5000);
    expect(r.routes).toBe(5000);
    expect(r.ms).toBeGreaterThan(0);
    expect(sockets()).toEqual([]);
    // Closed connections linger a second for their last NOTIFICATION; hold and keepalive timers
    // (22-90 s) would still be pending ten seconds on.
    jest.advanceTimersByTime(10000);
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
    expect(other.rib.destinations().map((d) => d.prefix)).toEqual(['10.1.0.0/24']);
    await other.stop();
  });

  describe("at the standalone speaker's start", () => {
    it('logs a finished warm-up once, with its size', async () => {
      const { log, lines } = captureLogger();
      await warmUpOrWarn(1000, log);
      expect(lines).toEqual([
        { level: 'info', obj: { routes: 1000, ms: expect.any(Number) }, msg: 'UPDATE path warmed up with a synthetic table' },
      ]);
    });

    it('turns a failed warm-up into one warning with its reason, and the start goes on', async () => {
      const { log, lines } = captureLogger();
      const failing = (): Promise<never> => Promise.reject(new Error('warm-up speaker advertised 3 routes, expected 4'));
      await expect(warmUpOrWarn(1000, log, failing)).resolves.toBeUndefined();
      expect(lines).toEqual([
        { level: 'warn', obj: { err: 'warm-up speaker advertised 3 routes, expected 4' }, msg: 'warm-up failed; starting without it' },
      ]);
    });
  });
});
