/**
 * The desired state the agent last computed from the API server, kept on the node: an agent that
 * restarts while the API server is unreachable starts its BGP sessions and data path from it, so
 * its peers see it back within their graceful-restart time and pods keep their routes. Written
 * atomically (temporary file, then rename) after each sync that changed it; read once at start.
 * A file that is missing, for another node, of another version or garbled is ignored (logged).
 */
import fs from 'node:fs';
import { writeFileAtomic } from '../util/write-atomic';
import path from 'node:path';
import type { NodesDesired } from '../../controllers/nodes';
import type { AdvertisedVip } from '../../controllers/services';
import type { Logger } from '../../bgp';

const VERSION = 1;

export interface LastState {
  node: string;
  savedAt: number;
  nodes: NodesDesired;
  vips: AdvertisedVip[];
  serviceIps: string[];
}

export function saveLastState(file: string, s: Omit<LastState, 'savedAt'>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify({ version: VERSION, ...s, savedAt: Date.now() }));
}

/** The saved state for `node`, or why there is none usable. */
export function loadLastState(file: string, node: string): { state: LastState } | { missing: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { missing: err.code === 'ENOENT' ? `no ${file}` : `${file} is unreadable: ${err.message}` };
  }
  const s = raw as Partial<LastState> & { version?: number };
  if (s?.version !== VERSION) return { missing: `${file} has version ${JSON.stringify(s?.version)}, not ${VERSION}` };
  if (s.node !== node) return { missing: `${file} is for node ${JSON.stringify(s.node)}` };
  const n = s.nodes;
  const ok =
    !!n &&
    !!n.local &&
    Array.isArray(n.nodes) &&
    Array.isArray(n.internalPeers) &&
    Array.isArray(n.podSubnets) &&
    Array.isArray(n.nodeIps) &&
    Array.isArray(s.vips) &&
    Array.isArray(s.serviceIps) &&
    typeof s.savedAt === 'number';
  if (!ok) return { missing: `${file} is incomplete` };
  return { state: s as LastState };
}

/** The saved state for `node`, saying at start whether there is one (and if not, why). */
export function readLastState(file: string, node: string, log: Logger): LastState | undefined {
  const r = loadLastState(file, node);
  if ('missing' in r) {
    log.info({ file, why: r.missing }, 'no saved state to start from');
    return undefined;
  }
  log.info(
    { file, savedAt: new Date(r.state.savedAt).toISOString() },
    'found the state saved by the last run (used if the API server does not answer)',
  );
  return r.state;
}
