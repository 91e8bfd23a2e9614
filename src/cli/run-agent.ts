/**
 * The agent's run: everything `kube-router-ts [flags]` does once its flags parsed. Required by
 * agent.ts only when the command runs, so --version and --help never load the agent (nor the
 * Kubernetes client under it).
 */
import { agentConfigFrom, type AgentArgs } from '../config/agent-config';
import type { Logger } from 'pino';
import { createLogger } from '../log';
import { Agent, hostName } from '../agent/agent';
import { cleanupDataPlane } from '../dataplane/cleanup';
import { givenWithoutEffect } from '../config/pending-flags';
import { missingAgentEnv } from '../agent/process-env';
import { stopWithin } from '../util/stop-within';

/** Well inside kubelet's default grace period (30 s) and the lab's wait (10 s). */
const STOP_BOUND_MS = 8000;

/** Stops the agent, or logs the step that hung and exits anyway once the bound has passed. */
async function stopAgent(agent: Agent, log: Logger): Promise<void> {
  const r = await stopWithin(
    () => agent.stop(),
    STOP_BOUND_MS,
    () => agent.stopStep,
  );
  if (r.finished) return;
  log.error(
    { event: 'stop', step: r.step, boundMs: STOP_BOUND_MS },
    `stopping took longer than ${STOP_BOUND_MS / 1000} s (still ${r.step}); exiting anyway, kernel routes stay`,
  );
  process.exit(1);
}

/** Resolves on the first SIGTERM or SIGINT; a second one while stopping is ignored. */
function untilSignalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (s: NodeJS.Signals): void => {
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      process.on('SIGTERM', () => undefined);
      process.on('SIGINT', () => undefined);
      resolve(s);
    };
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
}

export async function runAgent(argv: AgentArgs): Promise<void> {
  const config = agentConfigFrom(argv, hostName);
  const log = createLogger(config.logLevel, { node: config.nodeName });
  const pending = givenWithoutEffect(process.argv.slice(2));
  if (pending.length)
    log.warn({ flags: pending }, `flags of kube-router without effect here yet: ${pending.map((p) => `${p.flag} (${p.why})`).join('; ')}`);
  const missingEnv = missingAgentEnv(process.env, process.execArgv);
  if (missingEnv.length)
    log.warn(
      { event: 'environment', missing: missingEnv },
      `running without the image's memory settings (${missingEnv.join(', ')}): the agent takes more memory than measured; add them to the DaemonSet (its own env NODE_OPTIONS or command replaces the image's)`,
    );
  if (config.bfd && config.gracefulRestart)
    log.warn(
      { event: 'bfd' },
      'both --enable-bfd and --bgp-graceful-restart: a peer whose BFD session goes down ends the BGP session and drops our routes at once, graceful restart or not (as kube-router warns)',
    );
  if (config.cleanupConfig) {
    const removed = await cleanupDataPlane(config.cniConfPath, config.overlay?.port);
    log.info({ removed }, 'cleanup done');
    process.stdout.write(removed.length ? `removed: ${removed.join('; ')}\n` : 'nothing to remove\n');
    return;
  }
  // A bug must not go unnoticed: log it with context and exit non-zero so the DaemonSet restarts us.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection; exiting');
    process.exit(1);
  });
  const agent = new Agent(config, log);
  await agent.start();
  const ended = await Promise.race([untilSignalled().then((signal) => ({ signal })), agent.gaveUp.then((why) => ({ why }))]);
  if ('why' in ended) {
    log.fatal({ reason: ended.why }, `${ended.why}; exiting`);
    await stopAgent(agent, log);
    process.exit(1);
  }
  const signal = ended.signal;
  log.info(
    { signal, gracefulRestart: config.gracefulRestart !== undefined },
    config.gracefulRestart
      ? 'stopping: closing BGP sessions without NOTIFICATION (graceful restart); kernel routes stay'
      : 'stopping: sending Cease to every peer; kernel routes stay (forwarding is preserved)',
  );
  await stopAgent(agent, log);
  // Let the Cease NOTIFICATIONs (if any) leave, then exit even if a peer keeps its side of a socket open.
  await new Promise((r) => setTimeout(r, 200));
  process.exit(0);
}
