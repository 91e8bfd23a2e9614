/** Running programs: argument arrays (no shell), collected output, and a clear error on failure. */
import { execFile, ExecFileOptions } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string[],
    readonly result: RunResult,
  ) {
    super(`${cmd.join(' ')} exited with ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 500)}`);
  }
}

/** Runs a command; rejects with CommandError on a non-zero exit unless `allowFail`. */
export function run(cmd: string, args: readonly string[], opts: ExecFileOptions & { allowFail?: boolean; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', ...opts }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : 1) : 0;
      const result = { stdout: String(stdout), stderr: String(stderr), code };
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${cmd}: command not found`));
        return;
      }
      if (code !== 0 && !opts.allowFail) reject(new CommandError([cmd, ...args], result));
      else resolve(result);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
