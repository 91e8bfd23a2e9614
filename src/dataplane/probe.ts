/**
 * A long-lived shell that runs the read-only commands of the once-a-second drift checks
 * (`ipset save`, `iptables-save`, `ipvsadm -Sn`). Spawning from the agent forks a large process
 * every time (about 3 ms of its CPU each natively, ten times that under emulation); this shell
 * forks only itself. One batch at a time; each command's output comes back whole, cut at a
 * marker; a shell that dies or does not answer in time is replaced.
 */
import { spawn, ChildProcessWithoutNullStreams } from 'node:child_process';
import crypto from 'node:crypto';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export class Probe {
  private child: ChildProcessWithoutNullStreams | undefined;
  private out = '';
  private waiting: ((text: string | Error) => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly timeoutMs = 10000) {}

  /** Runs each argv in turn; resolves to their stdout and exit codes (stderr is dropped). */
  run(commands: readonly (readonly string[])[]): Promise<{ stdout: string; code: number }[]> {
    const next = this.queue.then(() => this.batch(commands));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private shell(): ChildProcessWithoutNullStreams {
    if (this.child && this.child.exitCode === null && !this.child.killed) return this.child;
    // Its own process group, so a hung command dies with it; it exits by itself when we do (stdin closes).
    const child = spawn('sh', [], { stdio: ['pipe', 'pipe', 'ignore'] as never, detached: true }) as ChildProcessWithoutNullStreams;
    const current = (): boolean => this.child === child;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (!current()) return;
      this.out += chunk;
      this.waiting?.(this.out);
    });
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => current() && this.waiting?.(e));
    child.on('exit', () => current() && this.waiting?.(new Error('the probe shell exited')));
    this.child = child;
    this.out = '';
    return child;
  }

  private batch(commands: readonly (readonly string[])[]): Promise<{ stdout: string; code: number }[]> {
    const child = this.shell();
    const marker = `--probe-${crypto.randomBytes(6).toString('hex')}--`;
    const script = commands
      .map((argv, i) => `${argv.map(quote).join(' ')} 2>/dev/null; printf '\\n%s %s\\n' '${marker}${i}' "$?"`)
      .join('; ');
    this.out = '';
    return new Promise((resolve, reject) => {
      const end = new RegExp(`\\n${marker}${commands.length - 1} \\d+\\n`);
      const timer = setTimeout(() => finish(new Error(`the probe shell did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      const finish = (r: string | Error): void => {
        // The last marker ends the output: look at the tail only (an ipset save of 10,000
        // members arrives in a dozen chunks, and scanning it all each time was quadratic).
        if (typeof r === 'string' && !end.test(r.slice(-(marker.length + 40)))) return;
        clearTimeout(timer);
        this.waiting = undefined;
        if (r instanceof Error) {
          this.close();
          reject(r);
          return;
        }
        const parts: { stdout: string; code: number }[] = [];
        let rest = r;
        for (let i = 0; i < commands.length; i++) {
          const m = new RegExp(`\\n${marker}${i} (\\d+)\\n`).exec(rest)!;
          parts.push({ stdout: rest.slice(0, m.index), code: Number(m[1]) });
          rest = rest.slice(m.index + m[0].length);
        }
        this.out = '';
        resolve(parts);
      };
      this.waiting = finish;
      child.stdin.write(`${script}\n`);
    });
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    child.stdout.destroy();
    child.stdin.destroy();
  }
}
