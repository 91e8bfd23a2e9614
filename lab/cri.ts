/**
 * The lab's container runtime, as far as the agent asks one (a test double of containerd's CRI
 * socket): RuntimeService/ContainerStatus on a unix socket per node (`<node dir>/cri.sock`, the
 * lab agents' --runtime-endpoint). A lab pod's "container" is its network namespace; the verbose
 * info carries the PID of a process running there (the pod's server), as containerd reports its
 * task's PID, so /proc/PID/ns/net is the pod's namespace. Served by `lab controllers`, the lab's
 * kubelet.
 */
import fs from 'node:fs';
import path from 'node:path';
import type net from 'node:net';
import { GrpcError, GrpcStatus, silentLogger, startGrpcServer } from '../bgp';
import { CONTAINER_STATUS, decodeContainerStatusRequest, encodeContainerStatusResponse, runtimeContainerId } from '../src/dataplane/cri';
import { run } from '../src/util/exec';
import type { LabNode } from './layout';

export const criSocket = (n: Pick<LabNode, 'dir'>): string => path.join(n.dir, 'cri.sock');

/** "containerd://ID": what the lab's kubelet reports in containerStatuses[].containerID. */
export const labContainerId = (id: string): string => `containerd://${id}`;

/**
 * Serves each node's socket; `netnsOf` maps a container ID to its pod's network namespace (or
 * undefined: no such container).
 */
export async function startLabCri(nodes: readonly LabNode[], netnsOf: (containerId: string) => string | undefined): Promise<net.Server[]> {
  const method = async (request: Buffer, send: (m: Uint8Array) => void): Promise<void> => {
    const id = runtimeContainerId(decodeContainerStatusRequest(request));
    const netns = netnsOf(id);
    if (!netns) throw new GrpcError(GrpcStatus.NotFound, `container "${id}" not found`);
    const pids = (await run('ip', ['netns', 'pids', netns], { allowFail: true })).stdout.split('\n').filter(Boolean);
    if (!pids.length) throw new GrpcError(GrpcStatus.NotFound, `container "${id}" is not running (no process in ${netns})`);
    send(encodeContainerStatusResponse(id, { info: JSON.stringify({ pid: Number(pids[0]), sandboxID: netns }) }));
  };
  const servers: net.Server[] = [];
  for (const n of nodes) {
    fs.rmSync(criSocket(n), { force: true });
    servers.push(await startGrpcServer({ [CONTAINER_STATUS]: method }, { path: criSocket(n) }, silentLogger));
  }
  return servers;
}
