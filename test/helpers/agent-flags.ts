/** The agent's configuration from a command line, as the CLI parses it (strict; a bad flag throws). */
import yargs from 'yargs';
import { AGENT_OPTIONS, agentConfigFrom, type AgentConfig } from '../../src/config/agent-config';

export function agentConfigOf(argv: readonly string[], hostname = 'node1'): AgentConfig {
  const a = yargs([...argv])
    .options(AGENT_OPTIONS)
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseSync();
  return agentConfigFrom(a as never, () => hostname);
}
