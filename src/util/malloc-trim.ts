/**
 * Gives malloc's free pages back to the kernel (glibc's malloc_trim, through native/malloc-trim).
 * glibc returns memory by itself only from the top of its heap; what Node frees below live chunks
 * stays in the process's RSS until trimmed: 2-3 MiB of an idle agent's 7-8 MiB malloc heap
 * (docs/benchmarks.md).
 */
import { loadAddon } from './native-addon';

interface Addon {
  trim(): boolean;
}

/**
 * The trim, loaded once for its caller to keep (the addon is searched for on disk): it returns
 * true when memory was given back. Throws when the addon is not built.
 */
export function mallocTrimmer(): () => boolean {
  return loadAddon<Addon>('native/malloc-trim/build/Release/malloc_trim.node', 'trimming malloc').trim;
}
