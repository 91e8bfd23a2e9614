/**
 * Jest global setup and teardown: no test namespace (krtt-*) may outlive a run. Setup removes
 * leftovers of an interrupted earlier run; teardown removes and reports any a test failed to
 * clean up, so a leak is visible in the output instead of silently piling up.
 */
import { Netns, listNetns } from '../lab/netns';
import { TEST_NETNS_PREFIX } from './helpers/topology';

export async function removeTestNamespaces(): Promise<string[]> {
  const names = await listNetns(TEST_NETNS_PREFIX);
  for (const name of names) await Netns.attach(name).destroy();
  return names;
}

export default async function globalCleanup(): Promise<void> {
  const left = await removeTestNamespaces();
  if (left.length) process.stdout.write(`\nremoved ${left.length} leftover test namespace(s): ${left.join(', ')}\n`);
}
