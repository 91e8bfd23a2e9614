/** A client for the admin API over its unix socket. */
import http from 'node:http';

export class AdminError extends Error {}

export function adminRequest<T>(socketPath: string, method: 'GET' | 'POST', path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          reject(new AdminError(`admin API at ${socketPath} answered with something that is not JSON`));
          return;
        }
        if ((res.statusCode ?? 500) >= 400) reject(new AdminError((body as { error?: string }).error ?? `HTTP ${res.statusCode}`));
        else resolve(body as T);
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is the speaker running, and is this its admin socket?)' : '';
      reject(new AdminError(`cannot reach the admin API at ${socketPath}: ${e.message}${hint}`));
    });
    req.end();
  });
}
