/**
 * Kernel modules the data path needs but nothing loads on demand (br_netfilter's sysctls, ip_vs's
 * sysctls exist only once loaded). Checked in /sys/module first, so a kernel with them built in,
 * or a container without modprobe where the host loaded them, needs no modprobe.
 */
import fs from 'node:fs';
import { run, type Runner } from '../util/exec';

/** Loads each missing module; throws naming the ones that could not be loaded and why. */
export async function ensureModules(names: readonly string[], exec: Runner = run, sysModule = '/sys/module'): Promise<string[]> {
  const loaded: string[] = [];
  const failed: string[] = [];
  for (const name of names) {
    if (fs.existsSync(`${sysModule}/${name}`)) continue;
    const r = await exec('modprobe', [name], { allowFail: true }).catch((e: Error) => ({ code: 1, stderr: e.message, stdout: '' }));
    if (r.code === 0) loaded.push(name);
    else failed.push(`${name} (${(r.stderr || r.stdout).trim().split('\n')[0]})`);
  }
  if (failed.length) throw new Error(`cannot load kernel module(s) ${failed.join(', ')}`);
  return loaded;
}
