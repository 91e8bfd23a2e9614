/**
 * A shutdown with a time bound. kubelet kills a pod that has not exited by the end of its grace
 * period (30 s by default), and a rollout waits for each node in turn, so one step that hangs
 * (a reconcile stuck in a slow command, a socket that never drains) must not hold the agent.
 * Leaving early costs only the goodbyes: the kernel routes stay, and with graceful restart the
 * peers keep ours. The caller learns which step was running, to log it.
 */
export type StopOutcome = { finished: true } | { finished: false; step: string };

export async function stopWithin(stop: () => Promise<void>, boundMs: number, step: () => string): Promise<StopOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<StopOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ finished: false, step: step() }), boundMs);
  });
  try {
    return await Promise.race([stop().then((): StopOutcome => ({ finished: true })), late]);
  } finally {
    clearTimeout(timer);
  }
}
