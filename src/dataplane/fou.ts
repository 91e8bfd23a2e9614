/**
 * The GUE receive port for fou tunnels (`ip fou add port 5555 gue`, per family). FOU is set up
 * over generic netlink; iproute2 speaks it, so this one object goes through `ip fou`. The fou
 * module is loaded first: generic netlink families are not loaded on demand.
 */
import { run, type Runner } from '../util/exec';

export interface FouPort {
  port: number;
  family: 4 | 6;
}

/** The GUE ports configured now ("port 5555 gue" and "port 5555 gue -6" lines). */
export async function fouPorts(exec: Runner = run): Promise<FouPort[]> {
  const out: FouPort[] = [];
  for (const family of [4, 6] as const) {
    const r = await exec('ip', [...(family === 6 ? ['-6'] : []), 'fou', 'show'], { allowFail: true });
    if (r.code !== 0) continue;
    for (const line of r.stdout.split('\n')) {
      const m = /^port (\d+) gue( -6)?/.exec(line.trim());
      if (m && (m[2] ? 6 : 4) === family) out.push({ port: Number(m[1]), family });
    }
  }
  return out;
}

/** Makes the GUE ports exactly `want` among ports this agent manages (`managed`); returns changes. */
export async function reconcileFouPorts(want: readonly FouPort[], managed: readonly number[], exec: Runner = run): Promise<string[]> {
  const changes: string[] = [];
  const key = (p: FouPort): string => `${p.port}/${p.family}`;
  if (want.length) await exec('modprobe', ['fou'], { allowFail: true });
  const have = await fouPorts(exec).catch(() => [] as FouPort[]);
  const haveKeys = new Set(have.map(key));
  for (const p of want) {
    if (haveKeys.has(key(p))) continue;
    await exec('ip', [...(p.family === 6 ? ['-6'] : []), 'fou', 'add', 'port', String(p.port), 'gue']);
    changes.push(`added ${key(p)}`);
  }
  const wantKeys = new Set(want.map(key));
  for (const p of have) {
    if (wantKeys.has(key(p)) || !managed.includes(p.port)) continue;
    await exec('ip', [...(p.family === 6 ? ['-6'] : []), 'fou', 'del', 'port', String(p.port)], { allowFail: true });
    changes.push(`removed ${key(p)}`);
  }
  return changes;
}
