/** `kube-router-ts lab ...`: the one-machine lab. For now the speaker demo. */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { speakerDemoDown, speakerDemoUp } from '../lab/speaker-demo';

export const labCommand: CommandModule = {
  command: 'lab <command>',
  describe: 'A local lab in network namespaces',
  builder: (y: Argv) =>
    y
      .command<{ down: boolean }>(
        'speaker-demo',
        'Two speakers (iBGP, AS 64512) and a BIRD top-of-rack router in namespaces',
        (c) => c.option('down', { type: 'boolean', default: false, describe: 'Remove the demo' }),
        async (argv) => {
          if (argv.down) {
            await speakerDemoDown();
            process.stdout.write('speaker demo removed\n');
            return;
          }
          await speakerDemoUp(path.join(__dirname, 'main.js'), (line) => process.stdout.write(`${line}\n`));
        },
      )
      .demandCommand(1),
  handler: () => undefined,
};
