/**
 * External commands (iptables, ipset, ipvsadm) never hang a loop and never take the process
 * down: a command that does not finish is killed at its deadline, and one that exits before
 * reading its input is an exit code, not an EPIPE on an unwatched stream.
 */
import { run, CommandError, COMMAND_TIMEOUT_MS } from '../../src/util/exec';

describe('run', () => {
  it('kills a command at its deadline and says so', async () => {
    const t0 = Date.now();
    const err = await run('sleep', ['30'], { timeout: 300 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as Error).message).toMatch(/sleep 30 exited with -1: killed after 0\.3 s \(timeout\)/);
  });

  it('a command that exits without reading its (large) input is only its exit code', async () => {
    const r = await run('sh', ['-c', 'exit 3'], { input: 'x'.repeat(4 * 1024 * 1024), allowFail: true });
    expect(r.code).toBe(3);
  });

  it('has a default deadline', () => {
    expect(COMMAND_TIMEOUT_MS).toBeGreaterThan(0);
    expect(COMMAND_TIMEOUT_MS).toBeLessThanOrEqual(60000);
  });
});
