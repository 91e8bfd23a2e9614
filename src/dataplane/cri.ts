/**
 * The container runtime's CRI (--runtime-endpoint), the one call DSR needs, as kube-router makes
 * it: RuntimeService/ContainerStatus with verbose info, whose "info" JSON holds the PID of the
 * container's process (containerd and CRI-O both report it); /proc/PID/ns/net is then the pod's
 * network namespace. gRPC over HTTP/2 on the runtime's unix socket; the two messages are
 * encoded here by hand (a string and a bool out, a map read back), both ways (the lab's runtime
 * double answers with the same code).
 */
import type http2 from 'node:http2';
import net from 'node:net';
import { frame, unframe } from '../../bgp';

export const CONTAINER_STATUS = '/runtime.v1.RuntimeService/ContainerStatus';
const TIMEOUT_MS = 5000;
/** A verbose status is a few KiB; refuse to buffer a runtime's runaway answer. */
const MAX_RESPONSE = 4 * 1024 * 1024;

/** "unix:///run/containerd/containerd.sock" or "/run/containerd/containerd.sock" -> the path. */
export function criSocketPath(endpoint: string): string {
  const p = endpoint.startsWith('unix://') ? endpoint.slice('unix://'.length) : endpoint;
  if (!p.startsWith('/'))
    throw new Error(`--runtime-endpoint ${JSON.stringify(endpoint)} is not a unix socket (say unix:///run/containerd/containerd.sock)`);
  return p;
}

/** "containerd://0a1b..." (a Pod's containerStatuses[].containerID) -> "0a1b..." (the runtime's ID). */
export const runtimeContainerId = (id: string): string => id.replace(/^[a-z0-9.+-]+:\/\//i, '');

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** ContainerStatusRequest { string container_id = 1; bool verbose = 2; } */
export function encodeContainerStatusRequest(containerId: string): Buffer {
  return Buffer.concat([field(1, Buffer.from(containerId, 'utf8')), Buffer.from([0x10, 0x01])]);
}

/** A length-delimited field: tag, length, bytes. */
const field = (n: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([...varint(n * 8 + 2), ...varint(value.length)]), value]);

/** The container ID of a ContainerStatusRequest. */
export function decodeContainerStatusRequest(message: Buffer): string {
  return (
    lengthDelimited(message)
      .find((f) => f.field === 1)
      ?.value.toString('utf8') ?? ''
  );
}

/** ContainerStatusResponse with status { id } and the info map. */
export function encodeContainerStatusResponse(containerId: string, info: Record<string, string>): Buffer {
  const status = field(1, field(1, Buffer.from(containerId, 'utf8')));
  const entries = Object.entries(info).map(([k, v]) =>
    field(2, Buffer.concat([field(1, Buffer.from(k, 'utf8')), field(2, Buffer.from(v, 'utf8'))])),
  );
  return Buffer.concat([status, ...entries]);
}

/** The fields of one message: number -> raw values of its length-delimited occurrences (others skipped). */
function lengthDelimited(buf: Buffer): { field: number; value: Buffer }[] {
  const out: { field: number; value: Buffer }[] = [];
  let at = 0;
  const readVarint = (): number => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= buf.length || shift > 63) throw new Error('truncated varint in CRI response');
      const b = buf[at++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return n;
    }
  };
  while (at < buf.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) readVarint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const len = readVarint();
      if (at + len > buf.length) throw new Error('truncated field in CRI response');
      out.push({ field, value: buf.subarray(at, at + len) });
      at += len;
    } else throw new Error(`CRI response has wire type ${wire}`);
    if (at > buf.length) throw new Error('truncated field in CRI response');
  }
  return out;
}

/** ContainerStatusResponse { ContainerStatus status = 1; map<string, string> info = 2; }: the info map. */
export function decodeContainerStatusInfo(message: Buffer): Map<string, string> {
  const info = new Map<string, string>();
  for (const f of lengthDelimited(message)) {
    if (f.field !== 2) continue;
    const entry = lengthDelimited(f.value);
    const key = entry.find((e) => e.field === 1)?.value.toString('utf8') ?? '';
    info.set(key, entry.find((e) => e.field === 2)?.value.toString('utf8') ?? '');
  }
  return info;
}

/** The PID in a verbose status's info: {"info": "{... \"pid\": 1234 ...}"}. */
export function pidFromInfo(info: Map<string, string>): number {
  const text = info.get('info');
  if (text === undefined) throw new Error('the runtime gave no verbose info for the container');
  let pid: unknown;
  try {
    pid = (JSON.parse(text) as { pid?: unknown }).pid;
  } catch {
    throw new Error("the runtime's verbose info is not JSON");
  }
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0)
    throw new Error("the runtime's verbose info has no pid (is the container running?)");
  return pid;
}

/** One unary call on the socket: the response message, or an error with the gRPC status. */
async function call(socketPath: string, path: string, request: Buffer): Promise<Buffer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const h2 = require('node:http2') as typeof http2;
  const session = h2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the runtime within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      session.on('error', fail);
      const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      let size = 0;
      let status: string | undefined;
      let message = '';
      const headers = (h: http2.IncomingHttpHeaders): void => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
      };
      stream.on('response', headers);
      stream.on('trailers', headers);
      stream.on('error', fail);
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE) stream.close();
        else chunks.push(c);
      });
      stream.on('close', () => {
        clearTimeout(timer);
        if (size > MAX_RESPONSE) reject(new Error(`the runtime's answer is over ${MAX_RESPONSE} bytes`));
        else if (status !== '0') reject(new Error(`the runtime answered gRPC status ${status ?? 'none'}${message ? `: ${message}` : ''}`));
        else {
          try {
            resolve(unframe(Buffer.concat(chunks)));
          } catch (e) {
            reject(new Error(`the runtime's answer: ${(e as Error).message}`));
          }
        }
      });
      stream.end(frame(request));
    });
  } finally {
    session.destroy();
  }
}

/** The PID of a container's process, asked of the runtime at `endpoint` (--runtime-endpoint). */
export async function containerPid(endpoint: string, containerId: string): Promise<number> {
  const id = runtimeContainerId(containerId);
  try {
    return pidFromInfo(decodeContainerStatusInfo(await call(criSocketPath(endpoint), CONTAINER_STATUS, encodeContainerStatusRequest(id))));
  } catch (e) {
    throw new Error(`container ${id} through ${endpoint}: ${(e as Error).message}`);
  }
}
