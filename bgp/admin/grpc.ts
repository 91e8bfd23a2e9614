/**
 * gRPC over cleartext HTTP/2 (what `gobgp` dials), the server side, for unary and server-streaming
 * calls: the framing of the gRPC HTTP/2 protocol (a 5-byte prefix per message, the status in
 * trailers) on node:http2. Messages stay bytes here; the service encodes and decodes them.
 */
import net from 'node:net';
import type http2 from 'node:http2';
import type { Logger } from '../log';

/** gRPC status codes used here. */
export const GrpcStatus = {
  Ok: 0,
  InvalidArgument: 3,
  NotFound: 5,
  ResourceExhausted: 8,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
} as const;

export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One method: gets the request message, calls `send` once (unary) or per message (stream). */
export type GrpcMethod = (request: Buffer, send: (message: Uint8Array) => void) => void | Promise<void>;

/** Requests here are a few bytes (an address, a family, a prefix filter). */
const MAX_REQUEST = 64 * 1024;
const MAX_CONNECTIONS = 64;
/** A connection quiet this long is closed (the gobgp CLI makes one per command). */
const IDLE_MS = 5 * 60 * 1000;

/** The single message of a request body, or why there is none. */
export function unframe(body: Buffer): Buffer {
  if (body.length < 5) throw new GrpcError(GrpcStatus.InvalidArgument, 'request has no gRPC message');
  if (body[0] !== 0) throw new GrpcError(GrpcStatus.Unimplemented, 'compressed messages are not supported');
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) throw new GrpcError(GrpcStatus.InvalidArgument, 'request is not exactly one gRPC message');
  return body.subarray(5);
}

export function frame(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/**
 * Serves `methods` (by path, "/package.Service/Method") where `listen` says (host and port, or a
 * unix socket's path). A method not listed answers UNIMPLEMENTED; a throwing method ends its
 * call with its status, never the server.
 */
export async function startGrpcServer(
  methods: Record<string, GrpcMethod>,
  listen: { host: string; port: number } | { path: string },
  log: Logger,
): Promise<net.Server> {
  // node:http2 (2 MiB) is loaded with the first connection: most agents never get one.
  let h2: http2.Http2Server | undefined;
  const server = net.createServer((socket) => {
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    (h2 ??= http2Server(methods, log)).emit('connection', socket);
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function http2Server(methods: Record<string, GrpcMethod>, log: Logger): http2.Http2Server {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const server = (require('node:http2') as typeof http2).createServer();
  server.on('sessionError', (err) => log.debug({ err: err.message }, 'gRPC session error'));
  server.on('stream', (stream, headers) => {
    stream.on('error', (err) => log.debug({ err: err.message }, 'gRPC stream error'));
    const path = String(headers[':path'] ?? '');
    const type = String(headers['content-type'] ?? '');
    if (headers[':method'] !== 'POST' || !type.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_REQUEST) chunks.push(c);
    });
    stream.on('end', () => void answer(stream, methods[path], path, size > MAX_REQUEST ? undefined : Buffer.concat(chunks), log));
  });
  return server;
}

async function answer(
  stream: http2.ServerHttp2Stream,
  method: GrpcMethod | undefined,
  path: string,
  body: Buffer | undefined,
  log: Logger,
): Promise<void> {
  let status: number = GrpcStatus.Ok;
  let message = '';
  stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
  try {
    if (!method) throw new GrpcError(GrpcStatus.Unimplemented, `${path} is not served (read-only API)`);
    if (!body) throw new GrpcError(GrpcStatus.ResourceExhausted, `request over ${MAX_REQUEST} bytes`);
    const request = unframe(body);
    await method(request, (m) => {
      if (!stream.destroyed) stream.write(frame(m));
    });
  } catch (e) {
    status = e instanceof GrpcError ? e.code : GrpcStatus.Internal;
    message = (e as Error).message;
    if (!(e instanceof GrpcError)) log.warn({ method: path, err: message }, 'gRPC call failed');
  }
  if (stream.destroyed) return;
  stream.once('wantTrailers', () => {
    const trailers: http2.OutgoingHttpHeaders = { 'grpc-status': String(status) };
    if (message) trailers['grpc-message'] = encodeURIComponent(message);
    stream.sendTrailers(trailers);
  });
  stream.end();
}
