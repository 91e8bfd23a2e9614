/**
 * The environment benchmarks start our processes with: this shell's, less the variables a node's
 * pod does not get (neither the image nor the manifests set them), unless --host-env. A sandbox
 * pointing NODE_EXTRA_CA_CERTS at the system's CA bundle makes every Node process parse its ~140
 * certificates at start: 1-2 MiB of RSS no node pays (docs/benchmarks.md).
 */
import { flag } from './args';

const HOST_ONLY = ['NODE_EXTRA_CA_CERTS'];

export const podEnv = (): NodeJS.ProcessEnv =>
  flag('host-env') ? process.env : Object.fromEntries(Object.entries(process.env).filter(([k]) => !HOST_ONLY.includes(k)));

/** A line for the benchmark's output saying which of those variables were left out or kept, if any was set. */
export function podEnvNote(): string {
  const set = HOST_ONLY.filter((k) => process.env[k] !== undefined);
  if (!set.length) return '';
  return flag('host-env')
    ? `with this shell's ${set.join(', ')} (--host-env)\n`
    : `without this shell's ${set.join(', ')} (no node's pod has it; --host-env keeps it)\n`;
}
