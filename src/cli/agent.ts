/**
 * `kube-router-ts [flags]` (also `kube-router-ts agent`): the node agent, as the DaemonSet runs
 * it. With --cleanup-config it removes what it set up on this node and exits instead.
 */
import type { Argv, CommandModule } from 'yargs';
import os from 'node:os';
import { AGENT_OPTIONS, agentConfigFrom, type AgentArgs } from '../config/agent-config';

/**
 * --print-config: the flags validated as the agent would (a bad one ends with status 2 and one
 * line naming it), then every option after defaults, one key per flag, as JSON. Nothing on the
 * host or the API server is touched.
 */
/** Flags parsed here from text (for one clear error each) that kube-router types as integers. */
const INTEGER_FLAGS = new Set([
  'bgp-port',
  'cluster-asn',
  'health-port',
  'metrics-port',
  'overlay-encap-port',
  'peer-router-asns',
  'peer-router-multihop-ttl',
  'peer-router-ports',
]);

/** A validated value as kube-router's type has it: integers as numbers, comma lists split. */
function typed(flag: string, value: unknown): unknown {
  if (!INTEGER_FLAGS.has(flag) || value === undefined || value === null) return value;
  if (Array.isArray(value))
    return value
      .flatMap((v) => String(v).split(','))
      .filter((v) => v.trim() !== '')
      .map(Number);
  return Number(value);
}

function printConfig(argv: AgentArgs): void {
  agentConfigFrom(argv, () => os.hostname());
  const out: Record<string, unknown> = {};
  for (const flag of Object.keys(AGENT_OPTIONS).sort()) {
    if (flag === 'print-config') continue;
    out[flag] = typed(flag, (argv as Record<string, unknown>)[flag]) ?? null;
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

export const agentCommand: CommandModule = {
  command: ['$0', 'agent'],
  describe: 'Run the node agent (the default command): pod networking over BGP, kube-bridge and CNI config, pod egress',
  builder: (y: Argv) => y.options(AGENT_OPTIONS),
  handler: async (argv) => {
    if (argv['print-config']) {
      printConfig(argv as unknown as AgentArgs);
      return;
    }
    // Loaded on use: see run-agent.ts.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runAgent } = require('./run-agent') as typeof import('./run-agent');
    await runAgent(argv as unknown as AgentArgs);
  },
};
