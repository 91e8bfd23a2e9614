/**
 * The lab's own client for the embedded API server: plain HTTP on its unix socket (no TLS, no
 * token: file permissions guard it), as kubectl would be for a real cluster. The lab creates
 * Nodes, Pods, Services and EndpointSlices with it, and tests inject faults through /_lab/*.
 */
import http from 'node:http';

export class LabApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export class LabApi {
  constructor(readonly socketPath: string) {}

  request<T = unknown>(method: Method, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (text !== undefined) Object.assign(headers, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
      const req = http.request({ socketPath: this.socketPath, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = raw ? JSON.parse(raw) : undefined;
          } catch {
            reject(new LabApiError(res.statusCode ?? 0, `${method} ${path}: the answer is not JSON`));
            return;
          }
          const code = res.statusCode ?? 0;
          if (code >= 400) reject(new LabApiError(code, `${method} ${path}: ${(json as { message?: string })?.message ?? `HTTP ${code}`}`));
          else resolve(json as T);
        });
      });
      req.on('error', (e) => reject(new LabApiError(0, `cannot reach the lab API server at ${this.socketPath}: ${e.message}`)));
      req.end(text);
    });
  }

  create<T>(collectionPath: string, object: T): Promise<T> {
    return this.request<T>('POST', collectionPath, object);
  }

  /** Deletes; a missing object is not an error (the goal is that it is gone). */
  async delete(path: string): Promise<void> {
    try {
      await this.request('DELETE', path);
    } catch (e) {
      if ((e as LabApiError).code !== 404) throw e;
    }
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  /** Fault injection and counters: compact, drop-watches, down, up, hang, unhang, stats. */
  lab<T = Record<string, unknown>>(what: 'compact' | 'drop-watches' | 'down' | 'up' | 'hang' | 'unhang' | 'stats'): Promise<T> {
    return this.request<T>(what === 'stats' ? 'GET' : 'POST', `/_lab/${what}`);
  }
}
