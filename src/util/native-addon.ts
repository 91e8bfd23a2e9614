/**
 * Loads one of our native addons (native/<name>/build/Release/<file>.node), wherever the program
 * runs from: the sources (tests), dist/ (tsc output) or next to the single-file bundle in dist/.
 * require() keeps what it loaded: a second call costs the search for the file only.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The addon at `rel` (relative to the project root); throws, naming `purpose`, when it is not built. */
export function loadAddon<T>(rel: string, purpose: string): T {
  // __dirname is src/util, dist/src/util, or dist/ for the bundle.
  const found = ['../..', '../../..', '..'].map((up) => path.resolve(__dirname, up, rel)).find((p) => fs.existsSync(p));
  if (!found) throw new Error(`${purpose} needs the native addon ${rel}; build it with "npm run build"`);
  // A path found at run time: only require() loads a native addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(found) as T;
}
