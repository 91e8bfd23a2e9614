/** sysctls the data path needs, read back and written only when they differ. */
import fs from 'node:fs';

const file = (key: string): string => `/proc/sys/${key.replace(/\./g, '/')}`;

export function readSysctl(key: string): string | undefined {
  try {
    return fs.readFileSync(file(key), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Sets each key to its value; returns the keys it changed. Missing keys are an error. */
export function reconcileSysctls(want: Record<string, string>): string[] {
  const changed: string[] = [];
  for (const [key, value] of Object.entries(want)) {
    const have = readSysctl(key);
    if (have === undefined) throw new Error(`sysctl ${key} does not exist in this kernel or namespace`);
    if (have === value) continue;
    fs.writeFileSync(file(key), value);
    changed.push(key);
  }
  return changed;
}

export function forwardingSysctls(ipv4: boolean, ipv6: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (ipv4) out['net.ipv4.ip_forward'] = '1';
  if (ipv6) out['net.ipv6.conf.all.forwarding'] = '1';
  return out;
}
