/**
 * The embedded API server: the Kubernetes HTTP protocol over the store. Agents reach it over
 * HTTPS with a bearer token through a kubeconfig, as they would a real cluster; lab tools use a
 * unix socket, which alone also offers fault injection (drop watches, compact history, go down).
 * List and watch follow the API conventions: resourceVersion on lists and objects, watch
 * streams of {"type","object"} lines, 410 Expired as an ERROR event, bookmarks on request,
 * objects leaving a selector seen as DELETED.
 */
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import net from 'node:net';
import crypto from 'node:crypto';
import { ApiError, KubeObject, Store, StoreEvent, jsonPatch, mergePatch } from './store';
import { Resource, apiVersionOf, parseResourcePath } from './resources';
import { SelectorError, matchesFields, matchesLabels, parseSelector } from './selectors';
import { discovery } from './discovery';
import { PatchError, strategicMergePatch } from './strategic-merge';
import jsYaml from 'js-yaml';
import { openApiV2 } from './openapi';

/** The Kubernetes version this server answers as. */
const VERSION = 'v1.31.0';
import { toTable, wantsTable } from './table';

export interface ApiServerOptions {
  token: string;
  /** Interval of BOOKMARK events for watches that allow them. */
  bookmarkIntervalMs?: number;
  /** Watches end after this long unless the client asked for less (servers do, 30-60 min). */
  maxWatchSeconds?: number;
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function body(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  // Server-side apply takes YAML (kubectl sends JSON, which is YAML too).
  const yaml = (req.headers['content-type'] ?? '').includes('apply-patch+yaml');
  try {
    return yaml ? jsYaml.load(text) : JSON.parse(text);
  } catch {
    throw new ApiError(400, 'BadRequest', `the request body is not valid ${yaml ? 'YAML' : 'JSON'}`);
  }
}

/** The object a PATCH makes of `current` (undefined: it does not exist yet, only apply creates). */
function patched(current: KubeObject | undefined, patch: unknown, type: string, kind: string): KubeObject {
  try {
    const media = type.split(';')[0]!.trim();
    if (media === 'application/json-patch+json') return jsonPatch(current, patch as never) as KubeObject;
    if (media === 'application/merge-patch+json') return mergePatch(current, patch) as KubeObject;
    // Strategic merge (kubectl's default) and server-side apply (the applied configuration
    // merged in with the same list semantics; fields it no longer sets are not tracked here).
    if (media === 'application/strategic-merge-patch+json' || media === 'application/apply-patch+yaml')
      return strategicMergePatch(current, patch, kind) as KubeObject;
  } catch (e) {
    if (e instanceof PatchError) throw new ApiError(400, 'BadRequest', e.message);
    throw e;
  }
  throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${type}`);
}

export class ApiServer {
  readonly store = new Store();
  /** Open watch streams, each as the function that ends it. */
  private readonly watches = new Set<() => void>();
  private tls: https.Server | undefined;
  private tlsConfig: { host: string; port: number; cert: Buffer; key: Buffer } | undefined;
  private readonly sockets = new Set<net.Socket>();
  private unix: http.Server | undefined;
  private hostAccess: https.Server | undefined;
  readonly stats = { requests: 0, watchesOpened: 0, expired: 0 };
  private hanging = false;
  /** Requests held unanswered while hanging: each ends its socket when released. */
  private readonly held = new Set<() => void>();
  /**
   * What clients with the token (the agents) asked for, as a real API server's authorizer sees
   * it: "verb group/resource[/subresource]" -> count. Lets tests check the RBAC we ship.
   */
  readonly access: Record<string, number> = {};

  constructor(private readonly options: ApiServerOptions) {}

  /** HTTPS with bearer-token auth, for agents. */
  async listenTls(host: string, port: number, cert: Buffer, key: Buffer): Promise<void> {
    this.tlsConfig = { host, port, cert, key };
    await this.up();
    // Coming back up after down() must use the same port, also when the first one was picked.
    this.tlsConfig.port = this.port!;
  }

  /**
   * HTTPS with bearer-token auth on a unix socket: the API as agents see it, for a relay that
   * serves it on the host's loopback (kubectl from the host's shell). Not affected by down().
   */
  async listenTlsUnix(path: string, cert = this.tlsConfig?.cert, key = this.tlsConfig?.key): Promise<void> {
    fs.rmSync(path, { force: true });
    const server = https.createServer({ cert, key }, (req, res) => void this.handle(req, res, false));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    fs.chmodSync(path, 0o600);
    this.hostAccess = server;
  }

  /** Plain HTTP on a unix socket, for lab tools: no auth (file permissions), plus /_lab/*. */
  async listenUnix(path: string): Promise<void> {
    fs.rmSync(path, { force: true });
    this.unix = http.createServer((req, res) => void this.handle(req, res, true));
    await new Promise<void>((resolve, reject) => {
      this.unix!.once('error', reject);
      this.unix!.listen(path, () => resolve());
    });
    fs.chmodSync(path, 0o600);
  }

  /** The TLS listener's port (useful when it was 0). */
  get port(): number | undefined {
    const a = this.tls?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Starts (again) serving agents over TLS. */
  async up(): Promise<void> {
    if (this.tls || !this.tlsConfig) return;
    const { host, port, cert, key } = this.tlsConfig;
    const server = https.createServer({ cert, key }, (req, res) => void this.handle(req, res, false));
    server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => resolve());
    });
    this.tls = server;
  }

  /** Stops serving agents: the listener closes and every open connection is cut. */
  down(): void {
    this.tls?.close();
    this.tls = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /**
   * A server that accepts connections and then never answers (hung, or a load balancer in front
   * of a dead one): requests from agents get no response, open watches go silent. `false` ends it.
   */
  hang(on = true): void {
    this.hanging = on;
    if (!on) for (const release of [...this.held]) release();
  }

  /** Ends every open watch stream (clients resume from their last resourceVersion). */
  dropWatches(): number {
    const n = this.watches.size;
    for (const end of [...this.watches]) end();
    return n;
  }

  close(): void {
    this.down();
    this.dropWatches();
    this.unix?.close();
    this.hostAccess?.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, admin: boolean): Promise<void> {
    this.stats.requests++;
    const url = new URL(req.url ?? '/', 'http://apiserver');
    try {
      if (!admin && !this.authorized(req)) {
        send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      if (admin && url.pathname.startsWith('/_lab/')) return this.labEndpoint(url.pathname, res);
      if (!admin && this.hanging) {
        // Never answered; when the hang ends the connection is cut, as a restarted server's would be.
        const release = (): void => {
          this.held.delete(release);
          res.destroy();
        };
        this.held.add(release);
        res.once('close', () => this.held.delete(release));
        return;
      }
      const p = url.pathname;
      if (p === '/healthz' || p === '/readyz' || p === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      if (p === '/version') return send(res, 200, { major: '1', minor: '31', gitVersion: VERSION, platform: 'linux/amd64' });
      if (p === '/openapi/v2') {
        const doc = openApiV2(req.headers.accept, VERSION);
        res.writeHead(200, { 'content-type': doc.type, 'content-length': doc.body.length }).end(doc.body);
        return;
      }
      const doc = discovery(p, req.headers.host ?? '');
      if (doc) return send(res, 200, doc);
      const parsed = parseResourcePath(p);
      if (!parsed) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${req.method} ${p})`);
      const { resource: r, namespace, name, subresource } = parsed;
      if (subresource !== undefined && (subresource !== 'status' || !r.status)) {
        throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${req.method} ${p})`);
      }
      if (!admin) {
        const isWatch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
        const verb =
          { GET: name ? 'get' : isWatch ? 'watch' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[
            req.method ?? ''
          ] ?? (req.method ?? '').toLowerCase();
        const key = `${verb} ${r.group}/${r.plural}${subresource ? `/${subresource}` : ''}`;
        this.access[key] = (this.access[key] ?? 0) + 1;
      }
      const statusOnly = subresource === 'status';
      if (statusOnly && req.method !== 'GET' && req.method !== 'PUT' && req.method !== 'PATCH')
        throw new ApiError(405, 'MethodNotAllowed', `${req.method} on a status subresource`);
      switch (req.method) {
        case 'GET': {
          // kubectl get asks for server-side printing (a Table) in its Accept header.
          const table = wantsTable(req.headers.accept) && !statusOnly;
          const includeObject = url.searchParams.get('includeObject');
          if (name) {
            const o = this.store.get(r, namespace, name);
            return send(res, 200, table ? toTable(r, [o], o.metadata.resourceVersion ?? '', includeObject) : o);
          }
          if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1')
            return this.watch(
              r,
              namespace,
              url,
              res,
              table ? (o) => toTable(r, [o as KubeObject], (o as KubeObject).metadata?.resourceVersion ?? '', includeObject) : undefined,
            );
          return this.list(r, namespace, url, res, table ? (includeObject ?? 'Metadata') : undefined);
        }
        case 'POST':
          if (name) throw new ApiError(405, 'MethodNotAllowed', 'POST to an object');
          return send(res, 201, this.store.create(r, namespace, (await body(req)) as KubeObject));
        case 'PUT':
          if (!name) throw new ApiError(405, 'MethodNotAllowed', 'PUT to a collection');
          return send(res, 200, this.store.replace(r, namespace, name, (await body(req)) as KubeObject, statusOnly));
        case 'PATCH': {
          if (!name) throw new ApiError(405, 'MethodNotAllowed', 'PATCH to a collection');
          const type = req.headers['content-type'] ?? '';
          const patch = await body(req);
          const apply = type.includes('apply-patch');
          // Server-side apply creates what does not exist yet; any other patch needs the object.
          const current = apply && !statusOnly ? this.store.find(r, namespace, name) : this.store.get(r, namespace, name);
          if (!current) {
            const created = patched(undefined, patch, type, r.kind);
            created.metadata = { ...created.metadata, name };
            return send(res, 201, this.store.create(r, namespace, created));
          }
          const next = patched(current, patch, type, r.kind);
          // A patch applies to the current object: no resourceVersion precondition unless given.
          if (!(patch as KubeObject).metadata?.resourceVersion) next.metadata.resourceVersion = current.metadata.resourceVersion;
          return send(res, 200, this.store.replace(r, namespace, name, next, statusOnly));
        }
        case 'DELETE':
          if (!name) throw new ApiError(405, 'MethodNotAllowed', 'DELETE of a collection');
          return send(res, 200, this.store.delete(r, namespace, name));
        default:
          throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported`);
      }
    } catch (e) {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (e instanceof ApiError) send(res, e.code, status(e.code, e.reason, e.message));
      else if (e instanceof SelectorError) send(res, 400, status(400, 'BadRequest', e.message));
      else send(res, 500, status(500, 'InternalError', (e as Error).message));
    }
  }

  private authorized(req: http.IncomingMessage): boolean {
    const given = req.headers.authorization ?? '';
    const want = `Bearer ${this.options.token}`;
    return given.length === want.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(want));
  }

  private filter(url: URL, namespace: string | undefined): (o: KubeObject) => boolean {
    const labels = parseSelector(url.searchParams.get('labelSelector'));
    const fields = parseSelector(url.searchParams.get('fieldSelector'));
    return (o) =>
      (namespace === undefined || o.metadata.namespace === namespace) &&
      matchesLabels(labels, o.metadata.labels) &&
      matchesFields(fields, o);
  }

  /** A list, or with `tableObject` set (includeObject) the same as a Table. */
  private list(r: Resource, namespace: string | undefined, url: URL, res: http.ServerResponse, tableObject?: string): void {
    const match = this.filter(url, namespace);
    const items = this.store.list(r).filter(match);
    if (tableObject !== undefined) return send(res, 200, toTable(r, items, this.store.resourceVersion, tableObject));
    send(res, 200, {
      kind: `${r.kind}List`,
      apiVersion: apiVersionOf(r),
      metadata: { resourceVersion: this.store.resourceVersion },
      items,
    });
  }

  /** A watch stream; `present` turns each event's object into what the client asked for (a Table row). */
  private watch(r: Resource, namespace: string | undefined, url: URL, res: http.ServerResponse, present?: (o: unknown) => unknown): void {
    const match = this.filter(url, namespace);
    this.stats.watchesOpened++;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // Clients wait for the response headers before they read events: send them now.
    res.flushHeaders();
    // A hung server sends nothing more on streams already open either.
    const write = (type: string, object: unknown): void => {
      const shown = present && type !== 'ERROR' && type !== 'BOOKMARK' ? present(object) : object;
      if (!res.writableEnded && !this.hanging) res.write(`${JSON.stringify({ type, object: shown })}\n`);
    };
    const rvParam = url.searchParams.get('resourceVersion');
    // What a watcher sees follows its selector: an object entering it is ADDED, one leaving it
    // DELETED, decided from the object's state before and after each event.
    const onEvent = (e: StoreEvent): void => {
      const was = e.type !== 'ADDED' && e.previous !== undefined && match(e.previous);
      const is = e.type !== 'DELETED' && match(e.object);
      if (was && is) write('MODIFIED', e.object);
      else if (is) write('ADDED', e.object);
      else if (was) write('DELETED', e.object);
    };
    let from: number;
    if (!rvParam || rvParam === '0') {
      // No version: the current state as ADDED events, then changes.
      for (const o of this.store.list(r).filter(match)) write('ADDED', o);
      from = Number(this.store.resourceVersion);
    } else {
      from = Number(rvParam);
      if (!Number.isInteger(from) || from < 0) {
        write('ERROR', status(400, 'BadRequest', `invalid resourceVersion ${JSON.stringify(rvParam)}`));
        res.end();
        return;
      }
    }
    let unsubscribe: () => void;
    try {
      unsubscribe = this.store.watch(r, from, onEvent);
    } catch (e) {
      if (e instanceof ApiError && e.code === 410) {
        this.stats.expired++;
        write('ERROR', status(410, 'Expired', e.message));
        res.end();
        return;
      }
      throw e;
    }
    const timers: NodeJS.Timeout[] = [];
    if (url.searchParams.get('allowWatchBookmarks') === 'true' && this.options.bookmarkIntervalMs) {
      timers.push(
        setInterval(
          () => write('BOOKMARK', { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: this.store.resourceVersion } }),
          this.options.bookmarkIntervalMs,
        ),
      );
    }
    const asked = Number(url.searchParams.get('timeoutSeconds') ?? NaN);
    const limit = Math.min(Number.isFinite(asked) && asked > 0 ? asked : Infinity, this.options.maxWatchSeconds ?? 1800);
    const cleanup = (): void => {
      unsubscribe();
      timers.forEach((t) => clearTimeout(t));
      this.watches.delete(end);
    };
    const end = (): void => {
      cleanup();
      res.end();
    };
    this.watches.add(end);
    timers.push(setTimeout(end, limit * 1000));
    res.once('close', cleanup);
  }

  private labEndpoint(pathname: string, res: http.ServerResponse): void {
    switch (pathname) {
      case '/_lab/compact':
        this.store.compact();
        return send(res, 200, { compacted: this.store.resourceVersion });
      case '/_lab/drop-watches':
        return send(res, 200, { dropped: this.dropWatches() });
      case '/_lab/hang':
        this.hang(true);
        return send(res, 200, { hanging: true });
      case '/_lab/unhang':
        this.hang(false);
        return send(res, 200, { hanging: false });
      case '/_lab/down':
        this.down();
        return send(res, 200, { up: false });
      case '/_lab/up':
        void this.up().then(
          () => send(res, 200, { up: true }),
          (e: Error) => send(res, 500, status(500, 'InternalError', e.message)),
        );
        return;
      case '/_lab/stats':
        return send(res, 200, {
          ...this.stats,
          access: this.access,
          watches: this.watches.size,
          up: this.tls !== undefined,
          resourceVersion: this.store.resourceVersion,
        });
      default:
        return send(res, 404, status(404, 'NotFound', pathname));
    }
  }
}
