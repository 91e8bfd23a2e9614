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

/**
 * The same server as a script for `node -e SCRIPT NAME PORT`: the lab starts this one, since
 * loading the whole CLI costs half a minute of CPU under emulation.
 */
export const POD_WEB_SCRIPT = `const [name, port] = process.argv.slice(1);
require('http').createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }); r.end(name + '\\n'); }).listen(Number(port), '::');`;
