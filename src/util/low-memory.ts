/**
 * V8's low-memory notification (native/low-memory): full collections that also give the young
 * generation's extra semi-space pages and the old generation's emptied pages back to the kernel,
 * which a collection asked for from JS keeps until V8's memory reducer runs (docs/benchmarks.md).
 */
import { loadAddon } from './native-addon';

interface Addon {
  notify(): void;
}

/** The notification, loaded once for its caller to keep. Throws when the addon is not built. */
export function lowMemoryCollector(): () => void {
  return loadAddon<Addon>('native/low-memory/build/Release/low_memory.node', "giving V8's free pages back").notify;
}
