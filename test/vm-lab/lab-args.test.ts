/** `lab up --vm`: the agents inside the emulated VM get five minutes to list unless told otherwise. */
import { emulatedLabArgs } from '../../lab/vm-lab';

describe('lab up --vm: arguments for the lab inside the VM', () => {
  it('adds --cache-sync-timeout=5m to the agents, keeping the flags given', () => {
    expect(emulatedLabArgs(['--nodes', '2'])).toEqual(['--nodes', '2', '--agent-args=--cache-sync-timeout=5m']);
    expect(emulatedLabArgs(['--tor', '--agent-args=--run-service-proxy'])).toEqual([
      '--tor',
      '--agent-args=--run-service-proxy --cache-sync-timeout=5m',
    ]);
  });

  it('leaves a timeout the user gave alone', () => {
    const args = ['--agent-args=--cache-sync-timeout=10m --run-service-proxy'];
    expect(emulatedLabArgs(args)).toEqual(args);
  });
});
