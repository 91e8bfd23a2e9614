/**
 * TLS material for the lab's API server, made with openssl at `lab up`: a CA, a server
 * certificate for the API server's address, and a bearer token. Agents trust the CA through
 * their kubeconfig, exactly as with a real cluster.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { run } from '../../src/util/exec';

export interface ApiCredentials {
  caCert: string;
  serverCert: string;
  serverKey: string;
  tokenFile: string;
}

export async function makeApiCredentials(
  dir: string,
  ips: string[],
  dnsNames: string[] = ['kubernetes', 'kubernetes.default'],
): Promise<ApiCredentials> {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string): string => path.join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '365',
    '-subj',
    '/CN=kube-router-ts-lab-ca',
  ]);
  await run('openssl', ['req', ...ec, '-keyout', f('apiserver.key'), '-out', f('apiserver.csr'), '-subj', '/CN=kube-apiserver']);
  const san = [...ips.map((ip) => `IP:${ip}`), ...dnsNames.map((d) => `DNS:${d}`)].join(',');
  fs.writeFileSync(f('san.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('apiserver.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('apiserver.crt'),
    '-days',
    '365',
    '-extfile',
    f('san.ext'),
  ]);
  fs.writeFileSync(f('token'), crypto.randomBytes(24).toString('hex'), { mode: 0o600 });
  return { caCert: f('ca.crt'), serverCert: f('apiserver.crt'), serverKey: f('apiserver.key'), tokenFile: f('token') };
}

/** A kubeconfig for a service account token against the lab's API server. */
export function renderKubeconfig(server: string, caCertFile: string, token: string, user = 'kube-router'): string {
  const ca = fs.readFileSync(caCertFile).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: ${user}
  user:
    token: ${token}
contexts:
- name: lab
  context:
    cluster: lab
    user: ${user}
current-context: lab
`;
}
