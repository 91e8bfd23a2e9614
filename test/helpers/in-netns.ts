/**
 * Runs our compiled code inside a network namespace and returns its result: jest cannot enter a
 * namespace, a child process can. `netnsCall` runs one of the typed operations of
 * lab/netns-calls.ts, its arguments and result type-checked.
 */
import path from 'node:path';
import type { Netns } from '../../lab/netns';
import type { NetnsCalls } from '../../lab/netns-calls';
import type { PieceName, Plan, Results } from '../../src/dataplane/pieces';

const DIST = path.resolve(__dirname, '../../dist');

/** One typed operation of lab/netns-calls.ts, run in `ns`. */
export async function netnsCall<K extends keyof NetnsCalls>(
  ns: Netns,
  name: K,
  ...args: Parameters<NetnsCalls[K]>
): Promise<Awaited<ReturnType<NetnsCalls[K]>>> {
  const r = await ns.exec(process.execPath, [path.join(DIST, 'lab', 'netns-calls.js'), name, JSON.stringify(args)], { allowFail: true });
  if (r.code !== 0) throw new Error(`${name} in ${ns.name}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Awaited<ReturnType<NetnsCalls[K]>>;
}

/** One data path piece's reconcile in `ns`, typed by the piece. */
export function netnsReconcile<N extends PieceName>(ns: Netns, name: N, desired: NonNullable<Plan[N]>): Promise<NonNullable<Results[N]>> {
  return netnsCall(ns, 'reconcile', name, desired) as Promise<NonNullable<Results[N]>>;
}
