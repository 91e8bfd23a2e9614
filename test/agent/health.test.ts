import { checkHealth, HEALTH_GRACE_MS } from '../../src/agent/health';

const MIN = 60000;
const base = { startedAt: 0, periodMs: MIN, speaker: { running: true } };
const tasks = (sync?: number, routes?: number, first = 1000) => [
  { name: 'sync', lastSuccessAt: sync, firstSuccessAt: sync === undefined ? undefined : first },
  { name: 'routes', lastSuccessAt: routes, firstSuccessAt: routes === undefined ? undefined : first },
];

describe('health (as kube-router: each loop within its period plus its first-run delay plus a grace, and the speaker up)', () => {
  it('is healthy while every loop completes within its period', () => {
    expect(checkHealth({ ...base, now: 5 * MIN, tasks: tasks(4.5 * MIN, 4.9 * MIN) })).toEqual({ healthy: true, problems: [] });
    // A fresh agent has its first period (plus grace) to complete each loop.
    expect(checkHealth({ ...base, now: MIN, tasks: tasks(undefined, undefined) }).healthy).toBe(true);
  });

  it('fails when a loop has not completed within period + first-run delay + grace, naming it', () => {
    const limit = MIN + 1000 + HEALTH_GRACE_MS;
    expect(checkHealth({ ...base, now: 10 * MIN + limit, tasks: tasks(10 * MIN, 10 * MIN) }).healthy).toBe(true);
    expect(checkHealth({ ...base, now: 10 * MIN + limit + 1, tasks: tasks(10 * MIN + limit, 10 * MIN) })).toEqual({
      healthy: false,
      problems: ['the routes loop has not completed for 66 s (limit 66 s)'],
    });
    expect(checkHealth({ ...base, now: MIN + HEALTH_GRACE_MS + 1, tasks: tasks(undefined, 1000) }).problems).toEqual([
      'the sync loop has not completed since start (limit 65 s)',
    ]);
  });

  it('fails, saying why, while the API server has not been listed and no saved state is in use', () => {
    const apiServer = 'waiting for the API server to list Nodes (last error: no response in 30 s)';
    expect(checkHealth({ ...base, now: 1000, tasks: tasks(900, 900), speaker: { running: false }, apiServer }).problems).toEqual([
      `not ready: ${apiServer}`,
    ]);
  });

  it('fails when the speaker is down, or the node is not part of the cluster', () => {
    expect(checkHealth({ ...base, now: 1000, tasks: tasks(900, 900), speaker: { running: false } }).problems).toEqual([
      'the BGP speaker is not running',
    ]);
    expect(
      checkHealth({ ...base, now: 1000, tasks: tasks(900, 900), speaker: { running: false }, waitingFor: 'no Node object with this name' })
        .problems,
    ).toEqual(['not part of the cluster: no Node object with this name']);
    // Without --run-router there is no speaker to check.
    expect(checkHealth({ ...base, now: 1000, tasks: tasks(900, 900), speaker: undefined }).healthy).toBe(true);
  });
});
