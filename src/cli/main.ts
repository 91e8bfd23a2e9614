#!/usr/bin/env node
/**
 * kube-router-ts: one binary, one subcommand per file under src/cli/. Errors end the process
 * with one line on stderr and a non-zero status, never a stack trace for a user mistake.
 * `lab ...` is handed to the lab's own program (lab/main.ts), which only a checkout's build has.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { speakerCommand } from './speaker';
import { bgpCommand } from './bgp';
import { agentCommand } from './agent';

export function cli(argv: string[]) {
  return (
    yargs(argv)
      .scriptName('kube-router-ts')
      .command(agentCommand)
      .command(speakerCommand)
      .command(bgpCommand)
      .command(
        'lab',
        'The one-machine lab: a cluster in network namespaces (from a source checkout; the image has none)',
        {},
        () => undefined,
      )
      .strict()
      .help()
      // kube-router's short forms: -h help, -V version (-v is its log verbosity, a flag of the agent).
      .alias('h', 'help')
      .alias('V', 'version')
      .fail((msg, err) => {
        if (err) throw err;
        process.stderr.write(`kube-router-ts: ${msg} (run with --help for usage)\n`);
        process.exit(2);
      })
  );
}

/** The lab's program next to this one: dist/lab/main.js beside dist/src/cli/, or the lab bundle beside ours. */
function labProgram(): string | undefined {
  return [path.join(__dirname, '..', '..', 'lab', 'main.js'), path.join(__dirname, 'kube-router-ts-lab.js')].find((p) => fs.existsSync(p));
}

function runLab(args: string[]): Promise<unknown> {
  const program = labProgram();
  if (!program) {
    process.stderr.write('kube-router-ts: the lab is not part of this installation; run it from a source checkout (./scripts/lab.sh)\n');
    process.exit(2);
  }
  // A computed path, so that bundlers leave the lab out of the agent's single file.
  return (createRequire(__filename)(program) as { runLab(a: string[]): Promise<unknown> }).runLab(args);
}

if (require.main === module && hideBin(process.argv)[0] === 'lab') {
  runLab(hideBin(process.argv).slice(1)).catch((err: Error) => {
    process.stderr.write(`kube-router-ts lab: ${err.message}\n`);
    process.exit(1);
  });
} else if (require.main === module) {
  cli(hideBin(process.argv))
    .parseAsync()
    .catch((err: Error) => {
      process.stderr.write(`kube-router-ts: ${err.message}\n`);
      // A configuration mistake is a usage error (2); anything else is a failure (1).
      process.exit(err.name === 'ConfigError' ? 2 : 1);
    });
}
