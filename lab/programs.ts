/**
 * The programs the lab starts: the agent is always the single-file bundle the image runs
 * (dist/kube-router-ts.js: only it leaves out the parts of client-node the agent never uses, see
 * scripts/bundle.mjs), so the lab's agents cost what a node's would. The lab's own entry point
 * (for the API server process) is dist/lab/main.js, or its bundle inside the VM, where loading
 * hundreds of files is slow under emulation.
 */
import path from 'node:path';
import { repoRoot } from './repo';

const FROM_BUNDLE = path.basename(__filename) === 'kube-router-ts-lab.js';

export function agentProgram(): string {
  return FROM_BUNDLE ? path.join(__dirname, 'kube-router-ts.js') : path.join(repoRoot(), 'dist', 'kube-router-ts.js');
}

export function labProgram(): string {
  return FROM_BUNDLE ? __filename : path.join(repoRoot(), 'dist', 'lab', 'main.js');
}
