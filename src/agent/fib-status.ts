/**
 * What became of each learned best path in the kernel after the last route sync: installed, or
 * not, and why: refused because it would take over the node's own prefixes, refused because a
 * route of another protocol holds the destination, no usable next hop, or the kernel said no.
 * `bgp rib` shows it per path and the metrics count it; a refusal is logged once per prefix and
 * peer while it lasts.
 */
import type { Logger, FibStatus as FibView } from '../../bgp';
import type { KernelPlan, LearnedRoute } from './kernel-plan';
import type { RouteChanges } from '../dataplane/routes';

/** Metric label of a reason a learned route is not in the kernel. */
export type NotInstalledKind = 'own-prefix' | 'foreign-route' | 'no-next-hop' | 'kernel-error';

interface Fate {
  installed: boolean;
  kind?: NotInstalledKind;
  reason?: string;
  peer?: string;
}

export class FibStatus {
  private fates = new Map<string, Fate>();
  /** "peer prefix reason" of refusals already logged and still in force. */
  private logged = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** Records one route sync: what was learned, the plan made of it, and what the kernel did. */
  record(learned: readonly LearnedRoute[], plan: KernelPlan, changes: RouteChanges | undefined): void {
    const fates = new Map<string, Fate>();
    for (const r of learned) fates.set(r.prefix, { installed: true, ...(r.peer ? { peer: r.peer } : {}) });
    const mark = (prefix: string, kind: NotInstalledKind, reason: string): void => {
      const f = fates.get(prefix);
      if (f) Object.assign(f, { installed: false, kind, reason });
    };
    for (const r of plan.refused) mark(r.prefix, 'own-prefix', r.reason);
    for (const p of plan.unreachable) mark(p, 'no-next-hop', 'next hop neither on a subnet of this node nor reachable through a tunnel');
    for (const r of changes?.refused ?? []) mark(r.dst, 'foreign-route', r.reason);
    for (const f of changes?.failed ?? []) mark(f.dst, 'kernel-error', `the kernel refused it: ${f.error}`);
    this.fates = fates;
    this.logRefusals();
  }

  /** Forgets everything (the node left the cluster: nothing learned is installed). */
  clear(): void {
    this.fates.clear();
    this.logged.clear();
  }

  /** For `bgp rib`: the fate of a best path learned from a peer, if it was planned. */
  view(prefix: string): FibView | undefined {
    const f = this.fates.get(prefix);
    if (!f) return undefined;
    return f.installed ? { installed: true } : { installed: false, reason: f.reason ?? '' };
  }

  /** Learned routes not in the kernel, by kind (the metric). */
  counts(): Record<NotInstalledKind, number> {
    const out: Record<NotInstalledKind, number> = { 'own-prefix': 0, 'foreign-route': 0, 'no-next-hop': 0, 'kernel-error': 0 };
    for (const f of this.fates.values()) if (f.kind) out[f.kind]++;
    return out;
  }

  /** Prefixes not in the kernel with their reasons (agent status). */
  notInstalled(): { prefix: string; peer?: string; reason: string }[] {
    return [...this.fates]
      .filter(([, f]) => !f.installed)
      .map(([prefix, f]) => ({ prefix, ...(f.peer ? { peer: f.peer } : {}), reason: f.reason ?? '' }));
  }

  /** Refusals (a hijack of the node's own prefixes, or a foreign route's destination) logged once each. */
  private logRefusals(): void {
    const now = new Set<string>();
    for (const [prefix, f] of this.fates) {
      if (f.kind !== 'own-prefix' && f.kind !== 'foreign-route') continue;
      const key = `${f.peer ?? ''} ${prefix} ${f.reason}`;
      now.add(key);
      if (!this.logged.has(key))
        this.log.warn({ event: 'routeRefused', peer: f.peer, prefix, reason: f.reason }, `learned route not installed: ${f.reason}`);
    }
    this.logged = now;
  }
}
