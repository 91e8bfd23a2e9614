/** The drift checks' long-lived shell: outputs whole and in order, exit codes kept, a hang survived. */
import { Probe } from '../../src/dataplane/probe';

describe('probe shell', () => {
  const probe = new Probe(1000);
  afterAll(() => probe.close());

  it('runs commands in turn and returns each output and exit code', async () => {
    const r = await probe.run([
      ['printf', 'a\\nb\\n'],
      ['sh', '-c', 'echo oops >&2; exit 3'],
      ['echo', "it's quoted; $HOME"],
    ]);
    expect(r).toEqual([
      { stdout: 'a\nb\n', code: 0 },
      { stdout: '', code: 3 },
      { stdout: "it's quoted; $HOME\n", code: 0 },
    ]);
  });

  it('serves concurrent callers one batch at a time, with the same shell', async () => {
    const [a, b] = await Promise.all([probe.run([['echo', '$$']]), probe.run([['sh', '-c', 'echo $PPID']])]);
    expect(a[0]!.stdout).toBe('$$\n');
    expect(b[0]!.code).toBe(0);
  });

  it('a command that hangs fails its batch at the deadline; the next batch gets a new shell', async () => {
    await expect(probe.run([['sleep', '30']])).rejects.toThrow(/did not answer within 1000 ms/);
    expect(await probe.run([['echo', 'again']])).toEqual([{ stdout: 'again\n', code: 0 }]);
  });
});
