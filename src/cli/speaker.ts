/** `kube-router-ts speaker --config FILE`: the BGP speaker alone, for ToR tests and benchmarks. */
import type { Argv, CommandModule } from 'yargs';
import { LOG_LEVELS, LogLevel } from '../log';

export interface SpeakerArgs {
  config: string;
  'log-level': LogLevel;
}

export const speakerCommand: CommandModule<object, SpeakerArgs> = {
  command: 'speaker',
  describe: 'Run the BGP speaker alone from a JSON configuration file',
  builder: (y: Argv) =>
    y
      .option('config', {
        type: 'string',
        demandOption: true,
        describe: 'JSON file: routerId, asn, listen, neighbors, advertise, adminSocket',
      })
      .option('log-level', { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'Log level' }) as Argv<SpeakerArgs>,
  handler: async (argv) => {
    // Loaded on use: see run-speaker.ts.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runSpeaker } = require('./run-speaker') as typeof import('./run-speaker');
    await runSpeaker(argv);
  },
};
