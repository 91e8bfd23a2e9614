import { transition, type Phase, type PhaseEvent } from '../../src/agent/phase';

describe('agent phases', () => {
  it.each([
    ['starting', 'nodeReady', 'joined', ['startBgp']],
    ['starting', 'nodeMissing', 'waitingForNode', []],
    ['waitingForNode', 'nodeMissing', 'waitingForNode', []],
    ['waitingForNode', 'nodeReady', 'joined', ['startBgp']],
    ['joined', 'nodeReady', 'joined', []],
    ['joined', 'nodeMissing', 'leaving', ['stopBgp', 'clearRoutes']],
    ['leaving', 'nodeMissing', 'leaving', []],
    ['leaving', 'nodeReady', 'joined', ['startBgp']],
    ['joined', 'stop', 'stopping', ['releaseBgp']],
    ['stopping', 'nodeReady', 'stopping', []],
  ] as [Phase, PhaseEvent, Phase, string[]][])('%s + %s -> %s %j', (phase, event, next, actions) => {
    expect(transition(phase, event)).toEqual({ next, actions });
  });

  it('waiting for the Node before the first join never clears routes kept from before a restart', () => {
    for (const e of ['nodeMissing', 'nodeMissing'] as const) expect(transition('starting', e).actions).not.toContain('clearRoutes');
    expect(transition('waitingForNode', 'nodeMissing').actions).toEqual([]);
  });
});
