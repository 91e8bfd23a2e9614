/**
 * Watch requests with deadlines, in place of client-node's Watch inside its ListWatch. Theirs
 * has none (its 30 s timeout signal is overwritten before use), so an API server that accepts a
 * connection and never answers, or a stream that stalls, leaves an informer waiting for good;
 * and it calls ListWatch's async done handler without catching what it returns, so a failure to
 * re-watch (credentials unreadable, say) becomes an unhandled rejection. This one:
 * - asks the server to end the watch after a randomised timeoutSeconds (client-go does the
 *   same) and asks for bookmarks;
 * - ends it itself when no byte arrives for `idleMs` before the response, or for the server's
 *   deadline plus a grace after it (so a silent server costs `idleMs`, a stalled stream minutes);
 * - routes every failure into ListWatch's done callback, whose own rejection goes to `onError`.
 * List calls get their deadline from `listOptions`.
 */
import http from 'node:http';
import https from 'node:https';
import readline from 'node:readline';
import { KubeConfig, Observable, Watch } from '@kubernetes/client-node';
import type { ConfigurationOptions } from '@kubernetes/client-node';

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

type Done = (err: unknown) => unknown;
type Callback = (phase: string, apiObj: unknown, watchObj?: unknown) => unknown;

class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Runs a callback that may return a promise; a throw or a rejection goes to `onError`. */
function settle(fn: () => unknown, onError: (err: unknown) => void): void {
  try {
    const r = fn();
    if (r instanceof Promise) r.catch(onError);
  } catch (e) {
    onError(e);
  }
}

export class TimedWatch extends Watch {
  constructor(
    private readonly kc: KubeConfig,
    private readonly timeouts: WatchTimeouts,
    private readonly onError: (err: unknown) => void,
  ) {
    super(kc);
  }

  override async watch(path: string, queryParams: Record<string, unknown>, callback: Callback, done: Done): Promise<AbortController> {
    const controller = new AbortController();
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      controller.abort();
      settle(() => done(err), this.onError);
    };
    try {
      const cluster = this.kc.getCurrentCluster();
      if (!cluster) throw new Error('no current cluster in the kubeconfig');
      const url = new URL(cluster.server + path);
      url.searchParams.set('watch', 'true');
      url.searchParams.set('allowWatchBookmarks', 'true');
      const [min, max] = this.timeouts.serverSeconds;
      const serverSeconds = Math.round(min + Math.random() * (max - min));
      url.searchParams.set('timeoutSeconds', String(serverSeconds));
      for (const [k, v] of Object.entries(queryParams ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
      const opts: https.RequestOptions = {};
      await this.kc.applyToHTTPSOptions(opts);
      const idle = (ms: number, what: string): void => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(new Error(`watch ${path}: ${what}`)), ms);
        timer.unref();
      };
      idle(this.timeouts.idleMs, `no response in ${this.timeouts.idleMs / 1000} s`);
      const get = url.protocol === 'https:' ? https.request : http.request;
      const req = get(url, { ...opts, method: 'GET', signal: controller.signal });
      req.on('error', finish);
      req.on('response', (res) => {
        res.on('error', finish);
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString().slice(0, 1000)));
          res.on('end', () =>
            finish(new HttpStatusError(res.statusCode ?? 0, `watch ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`)),
          );
          return;
        }
        // Until the server's own deadline any silence is allowed; after it, a short grace.
        const deadline = serverSeconds * 1000 + this.timeouts.graceMs;
        idle(deadline, `stream silent past the server's deadline (${serverSeconds} s)`);
        const lines = readline.createInterface({ input: res });
        // readline re-emits its input's errors: unheard, that one would be fatal.
        lines.on('error', finish);
        lines.on('line', (line) => {
          let data: { type?: string; object?: unknown };
          try {
            data = JSON.parse(line) as typeof data;
          } catch {
            return; // a garbled line: the next event or the relist puts the cache right
          }
          settle(() => callback(String(data.type), data.object, data), this.onError);
        });
        res.on('end', () => finish(null));
        res.on('close', () => finish(null));
      });
      req.end();
    } catch (e) {
      finish(e);
    }
    return controller;
  }
}

/** Options for a list call through client-node's generated API: a deadline on the whole request. */
export function listOptions(timeoutMs: number): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(AbortSignal.timeout(timeoutMs));
          return new Observable(Promise.resolve(ctx));
        },
        post: (rsp) => new Observable(Promise.resolve(rsp)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}
