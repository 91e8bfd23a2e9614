/**
 * The lab's API server driven by kubectl, both client generations this machine has: its own
 * kubectl (v1.32, /usr/bin/kubectl) and Debian's kubernetes-client 1.20 (unpacked by
 * scripts/setup.sh). Discovery, server-side printing, client-side and server-side apply with
 * strategic merge, label/annotate/patch/edit, selectors, describe, watch and delete, each read
 * back from the server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ApiServer } from '../../lab/apiserver/server';
import { RESOURCES } from '../../lab/apiserver/resources';
import { makeApiCredentials, renderKubeconfig } from '../../lab/apiserver/tls';
import { until } from '../../lab/wait';

jest.setTimeout(120000);

const KUBECTLS = [
  { name: 'kubectl 1.32', bin: '/usr/bin/kubectl' },
  { name: 'kubectl 1.20', bin: '/usr/local/lib/kube-router-ts/kubectl-1.20' },
];

const MANIFEST = (extraLabel: string, port: number) => `apiVersion: v1
kind: Namespace
metadata:
  name: x
  labels: {ns: x}
---
apiVersion: v1
kind: Pod
metadata:
  name: a
  namespace: x
  labels: {pod: a${extraLabel}}
spec:
  nodeName: node1
  containers:
  - name: c
    image: none
    command: ["python3", "-m", "http.server", "80"]
    ports:
    - containerPort: ${port}
      name: serve-tcp
---
apiVersion: v1
kind: Service
metadata:
  name: s
  namespace: x
spec:
  selector: {pod: a}
  ports:
  - port: 80
    protocol: TCP
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: x
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;

describe.each(KUBECTLS)('the lab API server driven by $name', ({ bin }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-kubectl-'));
  let server: ApiServer;
  const env = { ...process.env, KUBECONFIG: path.join(dir, 'kubeconfig'), HOME: dir };

  /** Runs kubectl; resolves with its output, rejects with it on a non-zero exit. */
  const kubectl = (args: string[], extraEnv: Record<string, string> = {}): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn(bin, args, { env: { ...env, ...extraEnv } });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')} exited ${code}:\n${out}`))));
    });
  const json = async (...args: string[]) => JSON.parse(await kubectl([...args, '-o', 'json'])) as Record<string, any>;
  const file = (name: string, text: string): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  beforeAll(async () => {
    const creds = await makeApiCredentials(path.join(dir, 'pki'), ['127.0.0.1']);
    const token = fs.readFileSync(creds.tokenFile, 'utf8');
    server = new ApiServer({ token });
    await server.listenTls('127.0.0.1', 0, fs.readFileSync(creds.serverCert), fs.readFileSync(creds.serverKey));
    fs.writeFileSync(env.KUBECONFIG, renderKubeconfig(`https://127.0.0.1:${server.port}`, creds.caCert, token));
    const nodes = RESOURCES.find((r) => r.plural === 'nodes')!;
    server.store.create(nodes, undefined, {
      metadata: { name: 'node1', labels: { 'node-role.kubernetes.io/worker': '' } },
      spec: { podCIDR: '10.244.1.0/24' },
      status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '10.0.0.11' }] },
    } as never);
  });
  afterAll(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('discovers every resource, short names included', async () => {
    const out = await kubectl(['api-resources']);
    for (const line of [
      /^nodes\s+no\s+v1\s+false\s+Node$/m,
      /^pods\s+po\s+v1\s+true\s+Pod$/m,
      /^networkpolicies\s+netpol\s+networking\.k8s\.io\/v1\s+true\s+NetworkPolicy$/m,
      /^endpointslices\s+discovery\.k8s\.io\/v1\s+true\s+EndpointSlice$/m,
    ])
      expect(out).toMatch(line);
  });

  it('prints nodes as a table, wide and with labels', async () => {
    expect(await kubectl(['get', 'nodes'])).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s*\nnode1\s+Ready\s+worker\s+\d+s\s*$/m);
    expect(await kubectl(['get', 'no', '-o', 'wide'])).toMatch(/INTERNAL-IP[\s\S]*node1\s+Ready\s+worker\s+\d+s\s+10\.0\.0\.11/);
    expect(await kubectl(['get', 'node', 'node1', '--show-labels'])).toMatch(/node-role\.kubernetes\.io\/worker=/);
  });

  it('applies a manifest, then a changed one as a strategic merge that keeps what it does not name', async () => {
    const created = await kubectl(['apply', '-f', file('v1.yaml', MANIFEST('', 80))]);
    expect(created).toMatch(/namespace\/x created/);
    expect(created).toMatch(/networkpolicy\.networking\.k8s\.io\/deny-all created/);
    // Something else (a controller) adds to the pod meanwhile: apply must leave it.
    await kubectl(['annotate', 'pod', '-n', 'x', 'a', 'owner=someone-else']);
    expect(await kubectl(['apply', '-f', file('v2.yaml', MANIFEST(', v: "2"', 81))])).toMatch(/pod\/a configured/);
    const pod = await json('get', 'pod', '-n', 'x', 'a');
    expect(pod.metadata.labels).toEqual({ pod: 'a', v: '2' });
    expect(pod.metadata.annotations.owner).toBe('someone-else');
    expect(pod.spec.containers).toEqual([
      { name: 'c', image: 'none', command: ['python3', '-m', 'http.server', '80'], ports: [{ containerPort: 81, name: 'serve-tcp' }] },
    ]);
    expect(JSON.stringify(pod)).not.toMatch(/"\$(patch|setElementOrder|retainKeys)/);
    expect(await kubectl(['get', 'netpol', '-n', 'x'])).toMatch(/^deny-all\s+<none>\s+\d+s$/m);
    expect(await kubectl(['get', 'svc', '-n', 'x', 's'])).toMatch(/^s\s+ClusterIP\s+<none>\s+<none>\s+80\/TCP\s+\d+s$/m);
  });

  it('labels, annotates and patches in every patch type; selectors find the result', async () => {
    await kubectl(['label', 'pod', '-n', 'x', 'a', 'tier=web']);
    await kubectl(['annotate', 'pod', '-n', 'x', 'a', 'note=hi']);
    await kubectl(['patch', 'pod', '-n', 'x', 'a', '-p', '{"metadata":{"labels":{"p":"q"}}}']);
    await kubectl(['patch', 'pod', '-n', 'x', 'a', '--type=merge', '-p', '{"metadata":{"labels":{"m":"1"}}}']);
    await kubectl(['patch', 'pod', '-n', 'x', 'a', '--type=json', '-p', '[{"op":"remove","path":"/metadata/labels/p"}]']);
    await kubectl(['label', 'pod', '-n', 'x', 'a', 'm-']);
    const pod = await json('get', 'pod', '-n', 'x', 'a');
    expect(pod.metadata.labels).toEqual({ pod: 'a', v: '2', tier: 'web' });
    expect(pod.metadata.annotations.note).toBe('hi');
    expect(await kubectl(['get', 'pods', '-A', '-l', 'tier=web', '-o', 'name'])).toBe('pod/a\n');
    expect(await kubectl(['get', 'pods', '-A', '-l', 'tier!=web', '-o', 'name'])).toBe('');
    expect(await kubectl(['get', 'pods', '-n', 'x', '--field-selector', 'spec.nodeName=node1', '-o', 'name'])).toBe('pod/a\n');
    expect(await kubectl(['describe', 'pod', '-n', 'x', 'a'])).toMatch(/Name:\s+a\nNamespace:\s+x[\s\S]*Labels:\s+pod=a/);
  });

  it('edits through $EDITOR and applies server-side', async () => {
    const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/tier: web/tier: edited/" "$1"\n');
    fs.chmodSync(editor, 0o755);
    await kubectl(['edit', 'pod', '-n', 'x', 'a'], { EDITOR: editor, KUBE_EDITOR: editor });
    expect((await json('get', 'pod', '-n', 'x', 'a')).metadata.labels.tier).toBe('edited');
    const ssa = await kubectl([
      'apply',
      '--server-side',
      '-f',
      file('ssa.yaml', MANIFEST(', v: "3"', 82).replace(/name: deny-all/, 'name: deny-all-2')),
    ]);
    expect(ssa).toMatch(/networkpolicy\.networking\.k8s\.io\/deny-all-2 serverside-applied/);
    const pod = await json('get', 'pod', '-n', 'x', 'a');
    expect(pod.metadata.labels.v).toBe('3');
    expect(pod.spec.containers[0].ports.map((p: { containerPort: number }) => p.containerPort)).toContain(82);
    expect(pod.spec.containers[0].command).toEqual(['python3', '-m', 'http.server', '80']);
  });

  it('watches: get --watch prints a row per change', async () => {
    const child = spawn(bin, ['get', 'pods', '-n', 'x', '--watch'], { env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await until(() => /^a\s/m.test(out), 20000, 'the first row');
      await kubectl(['label', 'pod', '-n', 'x', 'a', 'watched=1']);
      await until(() => out.split('\n').filter((l) => /^a\s/.test(l)).length >= 2, 20000, 'a row for the change');
      expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
      expect(out.match(/^NAME/gm)).toHaveLength(1);
    } finally {
      child.kill();
    }
  });

  it('deletes what it applied', async () => {
    await kubectl(['delete', '-f', path.join(dir, 'v1.yaml')]);
    await kubectl(['delete', 'netpol', '-n', 'x', 'deny-all-2']);
    expect(await kubectl(['get', 'pods,svc,netpol', '-n', 'x'])).toMatch(/No resources found/);
    expect(await kubectl(['get', 'ns', 'x', '--ignore-not-found'])).toBe('');
  });
});
