/**
 * The standalone speaker's run, required by speaker.ts only when that command runs (so that
 * --version and --help load no BGP code).
 */
import { Speaker, startAdminServer, startGobgpApi, warmUp, type Logger } from '../../bgp';
import { loadSpeakerConfig, SpeakerConfig } from '../config/speaker-config';
import { createLogger } from '../log';
import { fullCollection, HeapSettle } from '../util/heap-settle';
import type { SpeakerArgs } from './speaker';

/**
 * Applies a reloaded configuration (SIGHUP) by difference: prefixes are originated or withdrawn,
 * neighbors added or removed, and a changed neighbor is re-created. Global settings (AS, router
 * ID, listen address) need a restart, as in BIRD.
 */
export function applyConfig(speaker: Speaker, prev: SpeakerConfig | undefined, next: SpeakerConfig, log: Logger): void {
  if (prev && (prev.asn !== next.asn || prev.routerId !== next.routerId || JSON.stringify(prev.listen) !== JSON.stringify(next.listen))) {
    log.warn({}, 'asn, routerId and listen changes need a restart; keeping the running values');
  }
  const oldNeighbors = new Map((prev?.neighbors ?? []).map((n) => [n.address, JSON.stringify(n)]));
  for (const n of prev?.neighbors ?? []) {
    const now = next.neighbors.find((x) => x.address === n.address);
    if (!now || JSON.stringify(now) !== oldNeighbors.get(n.address)) speaker.removeNeighbor(n.address);
  }
  for (const n of next.neighbors) {
    if (oldNeighbors.get(n.address) !== JSON.stringify(n)) speaker.addNeighbor({ ...n, families: [...n.families] });
  }
  const want = new Set(next.advertise);
  for (const p of prev?.advertise ?? []) if (!want.has(p)) speaker.withdraw(p);
  for (const p of next.advertise) if (!prev?.advertise.includes(p)) speaker.originate(p);
}

/** The warm-up, logged; a failure is a warning only, since only the first table's speed depends on it. */
export async function warmUpOrWarn(routes: number, log: Logger, run: typeof warmUp = warmUp): Promise<void> {
  try {
    const w = await run(routes);
    log.info({ routes: w.routes, ms: Math.round(w.ms) }, 'UPDATE path warmed up with a synthetic table');
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'warm-up failed; starting without it');
  }
}

export async function runSpeaker(argv: SpeakerArgs): Promise<void> {
  const config = loadSpeakerConfig(argv.config);
  const log = createLogger(argv['log-level'], { component: 'speaker' });
  const settle = new HeapSettle(log);
  if (config.warmUpRoutes > 0) {
    await warmUpOrWarn(config.warmUpRoutes, log);
    // Its table is garbage now: collected before the real work starts, by a plain full
    // collection. The settle's low-memory notification would also shrink the young generation,
    // which the real table then grows again: the unique-MED load took 1.05 s against 0.94 s,
    // with 13.2k page faults against 9.9k (docs/benchmarks.md).
    fullCollection()();
  }
  const speaker = new Speaker({
    asn: config.asn,
    routerId: config.routerId,
    listen: config.listen,
    holdTime: config.holdTime,
    connectRetry: config.connectRetry,
    hostname: config.hostname,
    ...(config.clusterId ? { clusterId: config.clusterId } : {}),
    // No FIB of its own: the forwarding state is not preserved (F=0).
    gracefulRestart: config.gracefulRestart && {
      restartTime: config.gracefulRestart.restartTime,
      restarting: config.gracefulRestart.restarting,
      preserved: false,
    },
    log,
  });
  // RFC 4724 4.1: the restart is over once every neighbour's routes are in.
  speaker.on('endOfRib', () => {
    if ([...speaker.peers.keys()].every((a) => speaker.peerSynced(a))) speaker.restartComplete();
  });
  speaker.on('bestChanges', (changes: unknown[]) => settle.note(changes.length));
  await speaker.start();
  const admin = await startAdminServer(speaker, config.adminSocket, log);
  const gobgpApi = config.gobgpAdmin ? await startGobgpApi(speaker, config.gobgpAdmin.addresses, config.gobgpAdmin.port, log) : [];
  applyConfig(speaker, undefined, config, log);
  log.info({ neighbors: config.neighbors.length, advertise: config.advertise.length, adminSocket: config.adminSocket }, 'speaker running');

  let current = config;
  process.on('SIGHUP', () => {
    try {
      const next = loadSpeakerConfig(argv.config);
      applyConfig(speaker, current, next, log);
      current = next;
      log.info({ neighbors: next.neighbors.length, advertise: next.advertise.length }, 'configuration reloaded');
    } catch (e) {
      // A broken file on reload keeps the running configuration.
      log.error({ err: (e as Error).message }, 'reload failed; keeping the running configuration');
    }
  });

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      // A second signal while stopping is ignored rather than killing us mid-shutdown.
      if (stopping) return;
      stopping = true;
      log.info(
        { signal },
        config.gracefulRestart
          ? 'stopping for a graceful restart: closing sessions without NOTIFICATION'
          : 'stopping: sending Cease to every peer',
      );
      resolve();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  settle.stop();
  await speaker.stop({ graceful: true });
  admin.close();
  for (const server of gobgpApi) server.close();
  // Let the Cease NOTIFICATIONs leave, then exit even if a peer keeps its side of a socket open.
  await new Promise((r) => setTimeout(r, 200));
  process.exit(0);
}
