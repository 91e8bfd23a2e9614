/**
 * A pod's web server in the lab (the demo httpd of seed 001): answers every HTTP request with the
 * pod's name, so a client of a service sees which endpoint IPVS picked. Runs in the pod's
 * network namespace until the namespace is destroyed. A script for `node -e SCRIPT NAME PORT`
 * rather than a command of the lab: loading the lab costs half a minute of CPU under emulation.
 * No header or request timeouts: Node's default closes a connection that sent nothing for 60 s
 * (408), and the tests hold idle connections through a service for minutes (graceful termination).
 */
export const POD_WEB_SCRIPT = `const [name, port] = process.argv.slice(1);
require('http').createServer({ headersTimeout: 0, requestTimeout: 0 }, (q, r) => { r.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }); r.end(name + '\\n'); }).listen(Number(port), '::');`;
