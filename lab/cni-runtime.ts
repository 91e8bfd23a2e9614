/**
 * A minimal CNI runtime, as kubelet's container runtime is one: reads the config list the agent
 * wrote and executes its plugins (Debian's containernetworking-plugins) in order, each with the
 * previous result, per the CNI spec's rules for a network configuration list.
 *
 * The plugins run inside the node's network namespace. Lab nodes share one filesystem, so each
 * plugin also runs in a private mount namespace whose /var/lib/cni is the node's own directory:
 * host-local keeps its leases per node, as on separate machines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../src/util/exec';

export const CNI_BIN_DIR = '/usr/lib/cni';
const CNI_STATE_DIR = '/var/lib/cni';

export interface CniTarget {
  /** The config list (.conflist) to use. */
  confList: string;
  /** The node's network namespace (where the plugins run). */
  nodeNetns: string;
  /** The pod's network namespace name (under /run/netns). */
  podNetns: string;
  containerId: string;
  podName: string;
  podNamespace: string;
  /** The node's CNI state directory, mounted on /var/lib/cni for the plugins. */
  stateDir: string;
  ifName?: string;
}

export interface CniResult {
  cniVersion: string;
  ips?: { version?: string; address: string; gateway?: string; interface?: number }[];
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  routes?: { dst: string; gw?: string }[];
}

export class CniError extends Error {}

interface ConfList {
  cniVersion: string;
  name: string;
  plugins: ({ type: string } & Record<string, unknown>)[];
}

function readConfList(file: string): ConfList {
  let list: ConfList;
  try {
    list = JSON.parse(fs.readFileSync(file, 'utf8')) as ConfList;
  } catch (e) {
    throw new CniError(`cannot read the CNI config list ${file}: ${(e as Error).message}`);
  }
  if (!list.cniVersion || !list.name || !Array.isArray(list.plugins) || list.plugins.some((p) => typeof p?.type !== 'string')) {
    throw new CniError(`${file} is not a CNI config list (needs cniVersion, name and plugins with a type each)`);
  }
  return list;
}

/**
 * How long one plugin call may take: kubelet waits minutes for a sandbox (its runtime request
 * timeout is 2 min, the CRI's network setup within it). The plugins are Go programs, and in the
 * emulated VM beside another VM one took over 30 s (the default command timeout) to start.
 */
const CNI_TIMEOUT_MS = 240000;

async function invoke(
  t: CniTarget,
  command: 'ADD' | 'DEL',
  list: ConfList,
  plugin: ConfList['plugins'][number],
  prevResult?: CniResult,
): Promise<CniResult | undefined> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  if (prevResult) conf.prevResult = prevResult;
  const bin = path.join(CNI_BIN_DIR, plugin.type);
  if (!/^[\w.-]+$/.test(plugin.type) || !fs.existsSync(bin))
    throw new CniError(`CNI plugin ${JSON.stringify(plugin.type)} not found in ${CNI_BIN_DIR} (apt install containernetworking-plugins)`);
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: t.containerId,
    CNI_NETNS: `/run/netns/${t.podNetns}`,
    CNI_IFNAME: t.ifName ?? 'eth0',
    CNI_PATH: CNI_BIN_DIR,
    // As kubelet passes them; IgnoreUnknown lets plugins that do not know these keys accept them.
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${t.podNamespace};K8S_POD_NAME=${t.podName};K8S_POD_INFRA_CONTAINER_ID=${t.containerId}`,
  };
  fs.mkdirSync(t.stateDir, { recursive: true });
  fs.mkdirSync(CNI_STATE_DIR, { recursive: true });
  const script = 'mount --bind "$0" "$1" && exec ip netns exec "$2" "$3"';
  const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, t.stateDir, CNI_STATE_DIR, t.nodeNetns, bin], {
    input: JSON.stringify(conf),
    env,
    allowFail: true,
    timeout: CNI_TIMEOUT_MS,
  });
  let out: unknown;
  try {
    out = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    out = undefined;
  }
  if (r.code !== 0) {
    const e = out as { code?: number; msg?: string; details?: string } | undefined;
    throw new CniError(
      `CNI ${command} with plugin ${plugin.type} for ${t.podNamespace}/${t.podName} failed: ${e?.msg || r.stderr.trim() || `exit ${r.code}`}${e?.details ? ` (${e.details})` : ''}`,
    );
  }
  return out as CniResult | undefined;
}

/** Adds the pod to the network: every plugin in order, each given the previous result. */
export async function cniAdd(t: CniTarget): Promise<CniResult> {
  const list = readConfList(t.confList);
  let result: CniResult | undefined;
  for (const plugin of list.plugins) result = (await invoke(t, 'ADD', list, plugin, result)) ?? result;
  if (!result) throw new CniError(`CNI ADD for ${t.podNamespace}/${t.podName} returned no result`);
  return result;
}

/** Removes the pod from the network: plugins in reverse order; errors from each are collected. */
export async function cniDel(t: CniTarget): Promise<void> {
  const list = readConfList(t.confList);
  const errors: string[] = [];
  for (const plugin of [...list.plugins].reverse()) {
    await invoke(t, 'DEL', list, plugin).catch((e: Error) => errors.push(e.message));
  }
  if (errors.length) throw new CniError(errors.join('; '));
}
