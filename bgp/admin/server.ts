/**
 * The admin API: JSON over HTTP on a unix socket (`curl --unix-socket SOCK http://x/neighbors`).
 * Read-only views plus the two actions operators need: ask a peer to resend (soft reset in)
 * and hard-reset a session.
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { FAMILIES, Family } from '../codec/constants';
import type { Speaker } from '../speaker/speaker';
import { adjInView, globalView, neighborViews, ribView, FibLookup } from './views';
import { normalizeAddress } from '../../net';
import type { Logger } from '../log';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function familyParam(url: URL): Family | undefined {
  const f = url.searchParams.get('family');
  if (f === null) return undefined;
  if (!(FAMILIES as readonly string[]).includes(f))
    throw new HttpError(400, `unknown family ${JSON.stringify(f)}; use one of ${FAMILIES.join(', ')}`);
  return f as Family;
}

function route(s: Speaker, method: string, url: URL, fib: FibLookup | undefined): unknown {
  const parts = url.pathname.split('/').filter(Boolean);
  if (method === 'GET' && url.pathname === '/global') return globalView(s);
  if (method === 'GET' && url.pathname === '/neighbors') return neighborViews(s);
  if (method === 'GET' && url.pathname === '/rib') return ribView(s, familyParam(url), fib);
  if (parts[0] === 'neighbors' && parts.length === 3) {
    const address = normalizeAddress(decodeURIComponent(parts[1]!))!;
    const peer = s.peers.get(address);
    if (!peer) throw new HttpError(404, `no neighbor ${address}`);
    if (method === 'GET' && parts[2] === 'adj-in') return adjInView(s, address, familyParam(url));
    if (method === 'GET' && parts[2] === 'adj-out') {
      return s.advertised(address, familyParam(url)).map(([prefix, attrs]) => ({ prefix, nextHop: attrs.nextHop, asPath: attrs.asPath }));
    }
    if (method === 'POST' && parts[2] === 'refresh') {
      const families = familyParam(url) ? [familyParam(url)!] : (peer.negotiated?.families ?? []);
      const sent = families.filter((f) => s.requestRefresh(address, f));
      if (sent.length === 0)
        throw new HttpError(409, `${address}: no established session with route refresh for ${families.join(', ') || 'any family'}`);
      return { refreshRequested: sent };
    }
    if (method === 'POST' && parts[2] === 'reset') {
      peer.reset();
      return { reset: address };
    }
  }
  throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
}

/** Extra GET endpoints the embedding program serves on the same socket (e.g. /agent/status). */
export type ExtraEndpoints = Record<string, () => unknown | Promise<unknown>>;

/**
 * Serves the admin API for a speaker, or for whatever speaker a getter returns at the time of
 * each request (an agent starts and stops its speaker as its node joins and leaves); without one
 * the BGP endpoints answer 503.
 */
export async function startAdminServer(
  source: Speaker | (() => Speaker | undefined),
  socketPath: string,
  log: Logger,
  extra: ExtraEndpoints = {},
  /** Where best paths went in the kernel, for `rib` (an agent knows; a plain speaker installs nothing). */
  fib?: FibLookup,
): Promise<http.Server> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  // A socket file left by a previous run would make listen() fail with EADDRINUSE; anything
  // else at that path (a typo pointing at a real file) is the operator's, never ours to delete.
  const existing = fs.lstatSync(socketPath, { throwIfNoEntry: false });
  if (existing && !existing.isSocket())
    throw new Error(`admin socket path ${socketPath} exists and is not a socket; refusing to replace it`);
  if (existing) fs.rmSync(socketPath);
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    let status = 200;
    let body: unknown;
    try {
      const own = req.method === 'GET' ? extra[url.pathname] : undefined;
      if (own) body = await own();
      else {
        const s = typeof source === 'function' ? source() : source;
        if (!s) throw new HttpError(503, 'the BGP speaker is not running (no Node object for this node yet, or it left the cluster)');
        body = route(s, req.method ?? 'GET', url, fib);
      }
    } catch (e) {
      status = e instanceof HttpError ? e.status : 500;
      body = { error: (e as Error).message };
      if (status === 500) log.error({ err: e, path: url.pathname }, 'admin API error');
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o660);
  return server;
}
