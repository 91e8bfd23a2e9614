/**
 * Drift repair around the data path: kernel events (links, addresses, routes, rules) run the
 * loop owning what changed at once; what has no events (sysctls, ipsets, IPVS; iptables where
 * nftables does not announce changes) is checked every --self-heal-period, and soon after an
 * nftables change event. Either way someone else's change is undone within about a second.
 */
import type { Logger } from '../../bgp';
import type { Loop } from '../dataplane/kernel-events';
import type { DataPlane } from './dataplane';

/** After an nftables change event, how soon iptables is checked (a burst of changes costs one check). */
const EARLY_CHECK_MS = 100;

export class DriftRepair {
  private timer: NodeJS.Timeout | undefined;
  private early: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly dataplane: DataPlane,
    private readonly periodMs: number,
    private readonly log: Logger,
    /** Runs the loops that own what changed. */
    private readonly repair: (loops: Set<Loop>, why: string) => void,
  ) {}

  start(): void {
    this.dataplane.watchKernel(
      (loops) => this.repair(loops, 'kernel event'),
      () => {
        // A ruleset change (ours too): check soon, once for a burst.
        if (this.early) return;
        this.early = setTimeout(() => {
          this.early = undefined;
          this.check();
        }, EARLY_CHECK_MS);
        this.early.unref();
      },
    );
    if (this.periodMs > 0) {
      this.timer = setInterval(() => this.check(), this.periodMs);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.early);
  }

  /** One check at a time; what it finds runs the loops owning it. */
  private check(): void {
    if (this.checking) return;
    this.checking = true;
    this.dataplane
      .drifted()
      .then(
        (loops) => this.repair(loops, 'drift check'),
        (e: Error) => this.log.debug({ err: e.message }, 'drift check failed'),
      )
      .finally(() => (this.checking = false));
  }
}
