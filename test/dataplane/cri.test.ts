/**
 * The CRI client DSR uses (--runtime-endpoint): ContainerStatus over gRPC on a unix socket, the
 * PID read from the verbose info. Against a server on a socket in a temporary directory that
 * answers as containerd does (info["info"] a JSON document with "pid"), and against runtimes
 * that answer badly. The lab's runtime double (lab/cri.ts) serves the same messages; the VM test
 * runs the whole path.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GrpcError, GrpcStatus, startGrpcServer, type GrpcMethod } from '../../bgp/admin/grpc';
import { silentLogger } from '../../bgp/log';
import {
  CONTAINER_STATUS,
  containerPid,
  criSocketPath,
  decodeContainerStatusInfo,
  decodeContainerStatusRequest,
  encodeContainerStatusRequest,
  encodeContainerStatusResponse,
  runtimeContainerId,
} from '../../src/dataplane/cri';

describe('CRI ContainerStatus (DSR finds a pod through the runtime)', () => {
  let dir: string;
  const servers: net.Server[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-cri-'));
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const serve = async (method: GrpcMethod): Promise<string> => {
    const socket = path.join(dir, 'cri.sock');
    servers.push(await startGrpcServer({ [CONTAINER_STATUS]: method }, { path: socket }, silentLogger));
    return socket;
  };

  it('encodes the request and decodes the info map, as protobuf lays them out', () => {
    // container_id = 1 (string), verbose = 2 (true).
    expect(encodeContainerStatusRequest('abc').toString('hex')).toBe('0a036162631001');
    expect(decodeContainerStatusRequest(encodeContainerStatusRequest('0123456789'.repeat(20)))).toBe('0123456789'.repeat(20));
    const info = decodeContainerStatusInfo(encodeContainerStatusResponse('abc', { info: '{"pid":42}', other: 'x' }));
    expect([...info]).toEqual([
      ['info', '{"pid":42}'],
      ['other', 'x'],
    ]);
    expect(() => decodeContainerStatusInfo(Buffer.from([0x12, 0x05, 0x0a]))).toThrow(/truncated/);
    expect(runtimeContainerId('containerd://0a1b')).toBe('0a1b');
    expect(runtimeContainerId('cri-o://0a1b')).toBe('0a1b');
    expect(criSocketPath('unix:///run/containerd/containerd.sock')).toBe('/run/containerd/containerd.sock');
    expect(() => criSocketPath('tcp://1.2.3.4:5')).toThrow(/is not a unix socket/);
  });

  it("reads the PID of the container's process, asking by the runtime's ID (without containerd://)", async () => {
    const asked: string[] = [];
    const socket = await serve((request, send) => {
      asked.push(decodeContainerStatusRequest(request));
      send(
        encodeContainerStatusResponse('c1', {
          info: JSON.stringify({ sandboxID: 's', pid: 4321, runtimeSpec: { big: 'x'.repeat(20000) } }),
        }),
      );
    });
    expect(await containerPid(`unix://${socket}`, 'containerd://c1')).toBe(4321);
    expect(await containerPid(socket, 'c1')).toBe(4321);
    expect(asked).toEqual(['c1', 'c1']);
  });

  it('says why when the runtime cannot help: unknown container, no pid, garbage info, no socket', async () => {
    let answer: (send: (m: Uint8Array) => void) => void = () => {
      throw new GrpcError(GrpcStatus.NotFound, 'container "c9" not found');
    };
    const socket = await serve((_r, send) => answer(send));
    await expect(containerPid(socket, 'containerd://c9')).rejects.toThrow(
      /container c9 through .*cri.sock: the runtime answered gRPC status 5: container "c9" not found/,
    );
    answer = (send) => send(encodeContainerStatusResponse('c9', {}));
    await expect(containerPid(socket, 'c9')).rejects.toThrow(/gave no verbose info/);
    answer = (send) => send(encodeContainerStatusResponse('c9', { info: '{"pid":0}' }));
    await expect(containerPid(socket, 'c9')).rejects.toThrow(/has no pid/);
    answer = (send) => send(encodeContainerStatusResponse('c9', { info: 'not json' }));
    await expect(containerPid(socket, 'c9')).rejects.toThrow(/is not JSON/);
    answer = (send) => send(Buffer.from([0x12, 0x7f]));
    await expect(containerPid(socket, 'c9')).rejects.toThrow(/truncated/);
    await expect(containerPid(path.join(dir, 'none.sock'), 'c9')).rejects.toThrow(/container c9 through .*none.sock: .*ENOENT/);
  });
});
