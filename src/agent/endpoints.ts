/**
 * The agent's HTTP endpoints for Prometheus (--metrics-*), the kubelet's liveness probe
 * (--health-*) and profiling (--enable-pprof): plain node:http, one listener per address and port (both share one when they
 * are given the same port).
 */
import http from 'node:http';
import type { Logger } from '../../bgp';

/** Answers a GET of its path; `query` is the request's query string. */
export type Handler = (query: URLSearchParams) => Promise<{ status: number; contentType: string; body: string }>;

export interface Endpoint {
  address?: string | undefined;
  port: number;
  path: string;
  handler: Handler;
}

/** Starts one server per distinct address:port; resolves once all listen. */
export async function startEndpoints(endpoints: Endpoint[], log: Logger): Promise<http.Server[]> {
  const groups = new Map<string, Endpoint[]>();
  for (const e of endpoints) {
    const key = `${e.address ?? ''}|${e.port}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const servers: http.Server[] = [];
  for (const group of groups.values()) {
    const server = http.createServer((req, res) => {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://agent');
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request\n');
        return;
      }
      const path = url.pathname;
      const e = group.find((x) => x.path === path);
      if (!e || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res
          .writeHead(e ? 405 : 404, { 'content-type': 'text/plain' })
          .end(e ? 'method not allowed\n' : `not found; try ${group.map((x) => x.path).join(' or ')}\n`);
        return;
      }
      e.handler(url.searchParams).then(
        (r) => res.writeHead(r.status, { 'content-type': r.contentType }).end(req.method === 'HEAD' ? undefined : r.body),
        (err: unknown) => {
          log.error({ err: (err as Error).message, path }, 'endpoint failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
        },
      );
    });
    const { address, port } = group[0]!;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, ...(address ? { host: address } : {}) }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: Error) => {
      throw new Error(`cannot listen on ${address ?? '*'}:${port} for ${group.map((x) => x.path).join(', ')}: ${err.message}`);
    });
    server.on('error', (err) => log.error({ err: err.message, port }, 'HTTP endpoint error'));
    log.info({ address: address ?? '*', port, paths: group.map((x) => x.path) }, 'serving HTTP');
    servers.push(server);
  }
  return servers;
}
