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

  async stop(): Promise<void> {
    if (!this.child?.pid) return;
    killGroup(this.child.pid, 'SIGCONT');
    killGroup(this.child.pid, 'SIGTERM');
  }
}
