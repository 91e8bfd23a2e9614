/**
 * List and watch requests to the API server, with deadlines. client-node's KubeConfig supplies
 * the server, TLS and credentials (token files, client certificates, exec plugins: it applies
 * them to each request); the requests themselves are plain HTTP GETs. Its generated API clients
 * and its ListWatch are not used: loading them means loading every generated model (hundreds of
 * classes, tens of MiB of RSS on every node) to list four resources, and their watch has no
 * deadline (the 30 s timeout signal is overwritten before use).
 * - A list has a deadline on the whole request.
 * - A watch asks the server to end it after a randomised timeoutSeconds (client-go does the
 *   same) and asks for bookmarks; it is ended here when no byte arrives for `idleMs` before the
 *   response, or for the server's deadline plus a grace after it (so a silent server costs
 *   `idleMs`, a stalled stream minutes). Every way it ends reaches `done` exactly once.
 */
import http from 'node:http';
import https from 'node:https';
import readline from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';

export interface WatchTimeouts {
  /** Waiting for the response headers (and for any byte of a stream before the server's deadline), ms. */
  idleMs: number;
  /** The server ends each watch after a random time in this range, seconds. */
  serverSeconds: readonly [number, number];
  /** After the server's deadline passed without it closing the stream, ms. */
  graceMs: number;
}

export const DEFAULT_WATCH_TIMEOUTS: WatchTimeouts = { idleMs: 30000, serverSeconds: [300, 600], graceMs: 30000 };
export const DEFAULT_LIST_TIMEOUT_MS = 60000;

/** The largest list response read (a cluster of 5,000 Nodes lists in about 25 MiB). */
const MAX_LIST_BYTES = 512 * 1024 * 1024;

export type Query = Record<string, string | undefined>;

export class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Sends `method` `path` (with a JSON body) with the kubeconfig's credentials; resolves with the response (any status). */
export async function apiRequest(
  kc: KubeConfig,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  query: Query,
  signal: AbortSignal,
  body?: unknown,
): Promise<http.IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const send = url.protocol === 'https:' ? https.request : http.request;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = { ...opts.headers, Accept: 'application/json', ...(payload ? { 'Content-Type': 'application/json' } : {}) };
  return new Promise((resolve, reject) => {
    const req = send(url, { ...opts, method, signal, headers });
    req.on('error', reject);
    req.on('response', resolve);
    req.end(payload);
  });
}

/** Sends GET `path` with the kubeconfig's credentials; resolves with the response (any status). */
export const apiGet = (kc: KubeConfig, path: string, query: Query, signal: AbortSignal): Promise<http.IncomingMessage> =>
  apiRequest(kc, 'GET', path, query, signal);

/** Reads a whole response body, up to `limit` bytes. */
function readBody(res: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) res.destroy(new Error(`response larger than ${limit} bytes`));
      else chunks.push(c);
    });
    res.on('error', reject);
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * One request with a JSON body and answer within `timeoutMs`: the status and the parsed body
 * (undefined when not JSON). For the few writes the agent makes (a Lease, a Service's status).
 */
export async function requestJson(
  kc: KubeConfig,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; body: unknown }> {
  const res = await apiRequest(kc, method, path, {}, AbortSignal.timeout(timeoutMs), body);
  const text = await readBody(res, 4 * 1024 * 1024);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.statusCode ?? 0, body: parsed };
}

/** GET `path` as JSON within `timeoutMs`; a status other than 200 rejects with HttpStatusError. */
export async function listJson(kc: KubeConfig, path: string, query: Query, timeoutMs: number): Promise<unknown> {
  const res = await apiGet(kc, path, query, AbortSignal.timeout(timeoutMs));
  const body = await readBody(res, res.statusCode === 200 ? MAX_LIST_BYTES : 4096);
  if (res.statusCode !== 200) throw new HttpStatusError(res.statusCode ?? 0, `list ${path}: HTTP ${res.statusCode} ${body.slice(0, 200)}`);
  return JSON.parse(body) as unknown;
}

export interface WatchEvent {
  type: string;
  object: unknown;
}

/**
 * Opens a watch on `path` and passes each event to `onEvent` (a garbled line is skipped: the
 * next event or the relist puts the cache right). `done(null)` when the server ends the stream,
 * `done(err)` on any failure; the returned controller aborts it (then `done` gets the abort).
 */
export function watchStream(
  kc: KubeConfig,
  path: string,
  query: Query,
  timeouts: WatchTimeouts,
  onEvent: (e: WatchEvent) => void,
  done: (err: unknown) => void,
): AbortController {
  const controller = new AbortController();
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (err: unknown): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    controller.abort();
    done(err);
  };
  const idle = (ms: number, what: string): void => {
    clearTimeout(timer);
    timer = setTimeout(() => finish(new Error(`watch ${path}: ${what}`)), ms);
    timer.unref();
  };
  const [min, max] = timeouts.serverSeconds;
  const serverSeconds = Math.round(min + Math.random() * (max - min));
  idle(timeouts.idleMs, `no response in ${timeouts.idleMs / 1000} s`);
  const q: Query = { ...query, watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(serverSeconds) };
  apiGet(kc, path, q, controller.signal).then((res) => {
    res.on('error', finish);
    if (res.statusCode !== 200) {
      readBody(res, 4096).then(
        (text) => finish(new HttpStatusError(res.statusCode ?? 0, `watch ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`)),
        finish,
      );
      return;
    }
    // Until the server's own deadline any silence is allowed; after it, a short grace.
    idle(serverSeconds * 1000 + timeouts.graceMs, `stream silent past the server's deadline (${serverSeconds} s)`);
    const lines = readline.createInterface({ input: res });
    // readline re-emits its input's errors: unheard, that one would be fatal.
    lines.on('error', finish);
    lines.on('line', (line) => {
      if (finished) return;
      let data: { type?: unknown; object?: unknown };
      try {
        data = JSON.parse(line) as typeof data;
      } catch {
        return;
      }
      if (data && typeof data.type === 'string') {
        try {
          onEvent({ type: data.type, object: data.object });
        } catch (e) {
          finish(e);
        }
      }
    });
    res.on('end', () => finish(null));
    res.on('close', () => finish(null));
  }, finish);
  return controller;
}
