/**
 * Writes a file whole and renames it into place, so that a reader in another process sees the
 * old content or the new, never a truncated file (state files several processes read).
 */
import fs from 'node:fs';

export function writeFileAtomic(file: string, text: string, mode?: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, mode === undefined ? undefined : { mode });
  fs.renameSync(tmp, file);
}
