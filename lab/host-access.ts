/**
 * kubectl from the host's shell: the lab's API server lives in its own network namespace, so a
 * small relay in the root namespace listens on 127.0.0.1 (loopback only, never another address
 * of the host) and passes bytes to the server's TLS listener on a unix socket in the lab's
 * directory. TLS and the bearer token stay end to end; the relay sees ciphertext. It exits by
 * itself once that socket is gone (the lab was taken down).
 */
import fs from 'node:fs';
import net from 'node:net';

export async function runRelay(target: string, portFile: string): Promise<void> {
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  fs.writeFileSync(portFile, `${port}\n`);
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (!fs.existsSync(target)) {
        clearInterval(check);
        resolve();
      }
    }, 1000);
    process.once('SIGTERM', () => {
      clearInterval(check);
      resolve();
    });
  });
  server.close();
  process.exit(0);
}
