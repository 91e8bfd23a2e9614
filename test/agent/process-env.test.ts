/**
 * The agent's environment does what process-env.ts says: under it, a burst of long-lived objects
 * (as a full table from a peer) leaves V8's young generation at 8 MiB (two 4 MiB semi-spaces);
 * without it the same burst grows it past that.
 */
import { spawnSync } from 'node:child_process';
import { AGENT_ENV, AGENT_NODE_ARGS, missingAgentEnv } from '../../src/agent/process-env';

/** new_space's size in MiB after 300,000 objects that stay alive, in a node with `env`. */
function youngAfterBurst(env: NodeJS.ProcessEnv): number {
  const script = `
    const v8 = require('node:v8');
    const keep = [];
    for (let i = 0; i < 300000; i++) keep.push({ i, s: 'r' + i, a: [i] });
    const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    process.stdout.write(String(s.space_size / 1048576) + ' ' + keep.length);`;
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return Number(r.stdout.split(' ')[0]);
}

describe('the agent environment', () => {
  const { NODE_OPTIONS: _ignored, ...base } = process.env;

  it("caps V8's young generation at 8 MiB through a burst", () => {
    expect(youngAfterBurst({ ...base, ...AGENT_ENV })).toBeLessThanOrEqual(8);
  });

  it('without it, the same burst grows the young generation past 8 MiB (what the cap is for)', () => {
    expect(youngAfterBurst(base)).toBeGreaterThan(8);
  });
});

describe('missingAgentEnv', () => {
  it("is empty under the image's environment and node options, in either spelling, or with the operator's own choice", () => {
    expect(missingAgentEnv({ ...AGENT_ENV }, AGENT_NODE_ARGS)).toEqual([]);
    expect(
      missingAgentEnv({ MALLOC_ARENA_MAX: '1', NODE_OPTIONS: '--max-old-space-size=512 --max_semi_space_size=2' }, [
        '--no_sparkplug',
        '--no_short_builtin_calls',
      ]),
    ).toEqual([]);
    expect(missingAgentEnv({ MALLOC_ARENA_MAX: '1' }, ['--max-semi-space-size=8', '--sparkplug', '--short-builtin-calls'])).toEqual([]);
  });

  it('names each setting a replaced NODE_OPTIONS, a replaced command or a missing variable left out', () => {
    expect(missingAgentEnv({ MALLOC_ARENA_MAX: '1', NODE_OPTIONS: '--max-old-space-size=512' }, AGENT_NODE_ARGS)).toEqual([
      'NODE_OPTIONS --max-semi-space-size=4',
    ]);
    expect(missingAgentEnv({ ...AGENT_ENV }, ['--no-sparkplug'])).toEqual(['node --no-short-builtin-calls']);
    expect(missingAgentEnv({}, [])).toEqual([
      'MALLOC_ARENA_MAX=1',
      'NODE_OPTIONS --max-semi-space-size=4',
      'node --no-sparkplug',
      'node --no-short-builtin-calls',
    ]);
  });
});
