import fs from 'node:fs';

/** Polls a condition until it holds or the time is up; the error names what was awaited. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what = cond.toString()): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether a process exists (signal 0 checks without sending). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The last `lines` lines of a log file, or a note that there is none (for error messages). */
export function logTail(file: string, lines: number): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return `(${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
