#!/usr/bin/env node
/**
 * kube-router-ts: one binary, one subcommand per file under src/cli/. Errors end the process
 * with one line on stderr and a non-zero status, never a stack trace for a user mistake.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { speakerCommand } from './speaker';
import { bgpCommand } from './bgp';
import { labCommand } from './lab';
import { agentCommand } from './agent';

export function cli(argv: string[]) {
  return yargs(argv)
    .scriptName('kube-router-ts')
    .command(agentCommand)
    .command(speakerCommand)
    .command(bgpCommand)
    .command(labCommand)
    .strict()
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`kube-router-ts: ${msg}\nRun with --help for usage.\n`);
      process.exit(2);
    });
}

if (require.main === module) {
  cli(hideBin(process.argv))
    .parseAsync()
    .catch((err: Error) => {
      process.stderr.write(`kube-router-ts: ${err.message}\n`);
      // A configuration mistake is a usage error (2); anything else is a failure (1).
      process.exit(err.name === 'ConfigError' ? 2 : 1);
    });
}
