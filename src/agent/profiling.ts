/**
 * --enable-pprof: kube-router serves Go's pprof on 0.0.0.0:6060; this agent serves the V8
 * equivalents there, through the inspector of its own process: a CPU profile and a sampled
 * heap profile (allocation sites) over N seconds, in the formats Chrome DevTools (and
 * speedscope) open, one at a time. Like Go's profiles they hold code locations, never data: no
 * heap snapshot, which would hand the service account token and BGP passwords to anyone who
 * can reach the port.
 */
import type inspector from 'node:inspector';
import type { Endpoint, Handler } from './endpoints';

export const PPROF_PORT = 6060;
const DEFAULT_SECONDS = 30;
const MAX_SECONDS = 300;

type Answer = Awaited<ReturnType<Handler>>;
const text = (status: number, body: string): Answer => ({ status, contentType: 'text/plain; charset=utf-8', body });

function post<T>(session: inspector.Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
}

/** `?seconds=N` as Go's pprof takes it: 1 to 300, 30 when not given. */
function seconds(query: URLSearchParams): number | string {
  const given = query.get('seconds');
  if (given === null) return DEFAULT_SECONDS;
  const n = Number(given);
  return Number.isInteger(n) && n >= 1 && n <= MAX_SECONDS
    ? n
    : `seconds must be a whole number from 1 to ${MAX_SECONDS}, not ${JSON.stringify(given)}`;
}

export function profilingEndpoints(port = PPROF_PORT, address = '0.0.0.0'): Endpoint[] {
  let busy = false;
  /** Runs one profiling job in a fresh inspector session; refuses a second while one runs. */
  const job = (run: (session: inspector.Session) => Promise<Answer>): Promise<Answer> => {
    if (busy) return Promise.resolve(text(409, 'a profile is being taken; try again when it is done\n'));
    busy = true;
    // Loaded at the first profile, not at start (0.2 MiB of heap every agent would hold).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const session = new (require('node:inspector') as typeof inspector).Session();
    session.connect();
    return run(session).finally(() => {
      session.disconnect();
      busy = false;
    });
  };
  const sampled =
    (start: string, stop: string, enable: string, params?: object): Handler =>
    async (query) => {
      const s = seconds(query);
      if (typeof s === 'string') return text(400, `${s}\n`);
      return job(async (session) => {
        await post(session, enable);
        await post(session, start, params);
        await new Promise((r) => setTimeout(r, s * 1000));
        const { profile } = await post<{ profile: unknown }>(session, stop);
        return { status: 200, contentType: 'application/json', body: JSON.stringify(profile) };
      });
    };
  const at = (path: string, handler: Handler): Endpoint => ({ address, port, path, handler });
  return [
    at('/debug/pprof/', async () =>
      text(
        200,
        [
          'V8 profiles of this agent (--enable-pprof):',
          `/debug/pprof/profile?seconds=N    CPU profile over N seconds (default ${DEFAULT_SECONDS}), .cpuprofile`,
          '/debug/pprof/heap?seconds=N       allocations sampled over N seconds, .heapprofile',
          '',
        ].join('\n'),
      ),
    ),
    at('/debug/pprof/profile', sampled('Profiler.start', 'Profiler.stop', 'Profiler.enable')),
    at(
      '/debug/pprof/heap',
      sampled('HeapProfiler.startSampling', 'HeapProfiler.stopSampling', 'HeapProfiler.enable', { samplingInterval: 32768 }),
    ),
  ];
}
