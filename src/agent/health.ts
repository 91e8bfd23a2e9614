/**
 * The health check, as kube-router's health controller decides it: every reconcile loop must
 * have completed within its period plus a grace (the time its first run took after start, plus
 * a margin), and the BGP speaker must be up where this node routes. A pure function of what the
 * agent reports, so the rules are tested without clocks or sockets.
 */
export interface HealthInputs {
  now: number;
  startedAt: number;
  periodMs: number;
  /** `periodMs` where a loop has a period of its own (the firewall's --iptables-sync-period). */
  tasks: { name: string; lastSuccessAt?: number | undefined; firstSuccessAt?: number | undefined; periodMs?: number }[];
  /** Why the agent is not part of the cluster (its Node is missing or has no address). */
  waitingFor?: string | undefined;
  /** Set while the agent has neither listed the API server nor a saved state to run from: why. */
  apiServer?: string | undefined;
  /** Undefined where this node does not run the router (--run-router=false). */
  speaker?: { running: boolean } | undefined;
}

export interface HealthReport {
  healthy: boolean;
  problems: string[];
}

/** Slack on top of the period: timers and a busy event loop make a run a little late. */
export const HEALTH_GRACE_MS = 5000;

export function checkHealth(i: HealthInputs): HealthReport {
  const problems: string[] = [];
  if (i.apiServer) problems.push(`not ready: ${i.apiServer}`);
  if (i.waitingFor) problems.push(`not part of the cluster: ${i.waitingFor}`);
  for (const t of i.tasks) {
    // The first run's delay after start (kube-router's TTL) also pads later deadlines.
    const ttl = t.firstSuccessAt !== undefined ? t.firstSuccessAt - i.startedAt : 0;
    const last = t.lastSuccessAt ?? i.startedAt;
    const limit = (t.periodMs ?? i.periodMs) + ttl + HEALTH_GRACE_MS;
    if (i.now - last > limit) {
      const since = t.lastSuccessAt === undefined ? 'since start' : `for ${Math.round((i.now - last) / 1000)} s`;
      problems.push(`the ${t.name} loop has not completed ${since} (limit ${Math.round(limit / 1000)} s)`);
    }
  }
  if (i.speaker && !i.speaker.running && !i.waitingFor && !i.apiServer) problems.push('the BGP speaker is not running');
  return { healthy: problems.length === 0, problems };
}
