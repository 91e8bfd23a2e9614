/**
 * Runs a snippet of our compiled code inside a network namespace and returns its result: jest
 * cannot enter a namespace, a child process can. `dist(path)` requires a module from dist/.
 */
import path from 'node:path';
import type { Netns } from '../../lab/netns';

const DIST = path.resolve(__dirname, '../../dist');

export async function inNetns<T = unknown>(ns: Netns, body: string): Promise<T> {
  const script = `const dist = (p) => require(${JSON.stringify(DIST)} + '/' + p);
(async () => { ${body} })().then(
  (v) => { process.stdout.write(JSON.stringify(v === undefined ? null : v)); process.exit(0); },
  (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
  const r = await ns.exec(process.execPath, ['-e', script], { allowFail: true });
  if (r.code !== 0) throw new Error(`in ${ns.name}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as T;
}
