/**
 * The programs the lab starts, both compiled: the agent (the product's CLI: dist/src/cli/main.js)
 * and the lab's own entry point (dist/lab/main.js, for the API server process). Inside the VM
 * the lab runs from the single-file bundles instead (dist/kube-router-ts.js and
 * dist/kube-router-ts-lab.js), since loading hundreds of files is slow under emulation.
 */
import path from 'node:path';
import { repoRoot } from './repo';

const FROM_BUNDLE = path.basename(__filename) === 'kube-router-ts-lab.js';

export function agentProgram(): string {
  return FROM_BUNDLE ? path.join(__dirname, 'kube-router-ts.js') : path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
}

export function labProgram(): string {
  return FROM_BUNDLE ? __filename : path.join(repoRoot(), 'dist', 'lab', 'main.js');
}
