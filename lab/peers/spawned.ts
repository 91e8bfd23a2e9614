/** Process control shared by the daemons that run in the foreground under our spawn. */
import type { ChildProcess } from 'node:child_process';
import { killGroup } from '../netns';

export abstract class SpawnedDaemon {
  protected child: ChildProcess | undefined;

  /** Freezes the daemon (SIGSTOP): it goes silent without closing its connections. */
  pause(): void {
    if (this.child?.pid) killGroup(this.child.pid, 'SIGSTOP');
  }

  resume(): void {
    if (this.child?.pid) killGroup(this.child.pid, 'SIGCONT');
  }

  /** Dies at once (SIGKILL): the kernel closes its connections, no NOTIFICATION is sent. */
  async crash(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const gone = new Promise<void>((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
    );
    killGroup(child.pid, 'SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    if (!this.child?.pid) return;
    killGroup(this.child.pid, 'SIGCONT');
    killGroup(this.child.pid, 'SIGTERM');
  }
}
