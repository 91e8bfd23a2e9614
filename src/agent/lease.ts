/**
 * Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it
 * for kube-router's allocator (15 s lease, renewed every 2 s, given up when not renewed for
 * 10 s, released on stop). Expiry is judged by this process's clock from when it last saw the
 * record change, never by comparing another node's timestamps with ours (clock skew). Writes
 * carry the resourceVersion read, so two candidates never both win: the second gets 409.
 */
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { Logger } from '../../bgp';
import { requestJson } from '../../controllers/watch';

export interface LeaseTimings {
  leaseMs: number;
  renewDeadlineMs: number;
  retryMs: number;
}

export const LEASE_TIMINGS: LeaseTimings = { leaseMs: 15000, renewDeadlineMs: 10000, retryMs: 2000 };

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaseElector {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lastRenew = 0;
  /** The record last seen (holder and renew time) and when this process saw it change. */
  private observed: { key: string; at: number } | undefined;
  private stopped = true;
  /** Whether the last round ended with the Lease ours (what stop() releases). */
  private holds = false;
  /** The round in progress: stop() waits for it, so a renewal never lands after the release. */
  private inflight: Promise<void> = Promise.resolve();

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    readonly identity: string,
    private readonly log: Logger,
    private readonly onChange: (leading: boolean) => void,
    private readonly t: LeaseTimings = LEASE_TIMINGS,
    private readonly now: () => number = Date.now,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
  }

  start(): void {
    this.stopped = false;
    this.inflight = this.tick();
  }

  /**
   * Stops campaigning; a leader releases the Lease so another takes over at once (unless
   * `release` is false: then it expires, as after a crash).
   */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inflight;
    if (this.leading) this.setLeading(false);
    if (!release || !this.holds) return;
    try {
      const cur = await requestJson(this.kc, 'GET', `${this.path}/${this.name}`, undefined, 5000);
      const lease = cur.body as LeaseObject;
      if (cur.status === 200 && lease.spec?.holderIdentity === this.identity) {
        const spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date(this.now())) };
        await requestJson(this.kc, 'PUT', `${this.path}/${this.name}`, { ...lease, spec }, 5000);
      }
    } catch (e) {
      this.log.warn({ lease: this.name, err: (e as Error).message }, 'could not release the Lease (it expires by itself)');
    }
  }

  private async tick(): Promise<void> {
    try {
      const won = await this.tryAcquireOrRenew();
      this.holds = won;
      if (this.stopped) return;
      if (won) this.lastRenew = this.now();
      if (won !== this.leading && (won || this.now() - this.lastRenew > this.t.renewDeadlineMs)) this.setLeading(won);
    } catch (e) {
      this.log.debug({ lease: this.name, err: (e as Error).message }, 'lease request failed');
      if (this.leading && this.now() - this.lastRenew > this.t.renewDeadlineMs) this.setLeading(false);
    }
    if (!this.stopped) this.timer = setTimeout(() => (this.inflight = this.tick()), this.t.retryMs);
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.log.info(
      { lease: `${this.namespace}/${this.name}`, identity: this.identity },
      leading ? 'became the leader' : 'no longer the leader',
    );
    this.onChange(leading);
  }

  /** One round: true when we hold the Lease after it. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date(this.now());
    const mine = (old?: LeaseObject['spec']): NonNullable<LeaseObject['spec']> => {
      const transition = old?.holderIdentity !== this.identity;
      return {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.round(this.t.leaseMs / 1000),
        acquireTime: transition || !old?.acquireTime ? microTime(now) : old.acquireTime,
        renewTime: microTime(now),
        // As client-go: every change of holder counts, taking a released Lease too.
        leaseTransitions: (old?.leaseTransitions ?? 0) + (old && transition ? 1 : 0),
      };
    };
    const got = await requestJson(this.kc, 'GET', `${this.path}/${this.name}`, undefined, 5000);
    if (got.status === 404) {
      const body: LeaseObject = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: this.namespace },
        spec: mine(),
      };
      const made = await requestJson(this.kc, 'POST', this.path, body, 5000);
      return made.status === 201 || made.status === 200;
    }
    if (got.status !== 200) throw new Error(`GET lease: HTTP ${got.status}`);
    const lease = got.body as LeaseObject;
    const spec = lease.spec ?? {};
    const key = `${spec.holderIdentity ?? ''} ${spec.renewTime ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: this.now() };
    const held = !!spec.holderIdentity && spec.holderIdentity !== this.identity;
    const durationMs = (spec.leaseDurationSeconds ?? Math.round(this.t.leaseMs / 1000)) * 1000;
    if (held && this.now() < this.observed.at + durationMs) return false;
    const put = await requestJson(this.kc, 'PUT', `${this.path}/${this.name}`, { ...lease, spec: mine(spec) }, 5000);
    if (put.status === 200) {
      const s = (put.body as LeaseObject).spec;
      this.observed = { key: `${s?.holderIdentity ?? ''} ${s?.renewTime ?? ''}`, at: this.now() };
      return true;
    }
    if (put.status === 409) return false;
    throw new Error(`PUT lease: HTTP ${put.status}`);
  }
}
