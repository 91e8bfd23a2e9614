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

/**
 * How long a command may run before it is killed: iptables, ipset and ipvsadm normally take
 * milliseconds, and a hung one (a held lock, a wedged kernel call) must not stall a loop forever.
 */
export const COMMAND_TIMEOUT_MS = 30000;

/** How the data path runs commands: `run`, or a fake in unit tests. */
export type Runner = (cmd: string, args: readonly string[], opts?: { allowFail?: boolean; input?: string }) => Promise<RunResult>;

/** Runs a command; rejects with CommandError on a non-zero exit unless `allowFail`, and always on a timeout. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: ExecFileOptions & { allowFail?: boolean; input?: string } = {},
): Promise<RunResult> {
  const timeout = opts.timeout ?? COMMAND_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', killSignal: 'SIGKILL', ...opts, timeout },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0;
        const result = { stdout: String(stdout), stderr: String(stderr), code };
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`${cmd}: command not found`));
          return;
        }
        if (err && (err as { killed?: boolean }).killed && timeout > 0) {
          reject(new CommandError([cmd, ...args], { ...result, stderr: `killed after ${timeout / 1000} s (timeout)`, code: -1 }));
          return;
        }
        if (code !== 0 && !opts.allowFail) reject(new CommandError([cmd, ...args], result));
        else resolve(result);
      },
    );
    // A command that exits before reading its input makes the write fail (EPIPE): its exit code says why.
    child.stdin?.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
