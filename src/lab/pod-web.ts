/**
 * A pod's web server in the lab (the demo httpd of seed 001): answers every HTTP request with the
 * pod's name, so a client of a service sees which endpoint IPVS picked. Runs in the pod's
 * network namespace until the namespace is destroyed.
 */
import http from 'node:http';

export function servePodWeb(name: string, port: number): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${name}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '::', () => resolve(server));
  });
}
