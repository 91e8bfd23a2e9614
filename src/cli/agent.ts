/**
 * `kube-router-ts [flags]` (also `kube-router-ts agent`): the node agent, as the DaemonSet runs
 * it. With --cleanup-config it removes what it set up on this node and exits instead.
 */
import type { Argv, CommandModule } from 'yargs';
import { AGENT_OPTIONS, type AgentArgs } from '../config/agent-config';

export const agentCommand: CommandModule = {
  command: ['$0', 'agent'],
  describe: 'Run the node agent (the default command): pod networking over BGP, kube-bridge and CNI config, pod egress',
  builder: (y: Argv) => y.options(AGENT_OPTIONS),
  handler: async (argv) => {
    // Loaded on use: see run-agent.ts.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runAgent } = require('./run-agent') as typeof import('./run-agent');
    await runAgent(argv as unknown as AgentArgs);
  },
};
