/**
 * The lab as kubectl users drive it (`lab up` without a ToR): the kubeconfig it writes for the
 * host's shell, with this machine's kubectl and Debian's 1.20, and the lab's controllers acting
 * as kubelet, Service IP allocator, endpoint-slice and namespace controller for what kubectl
 * applies; `lab exec` into the pods. (The API server's protocol with kubectl, without a lab:
 * kubectl.test.ts.)
 */
import fs from 'node:fs';
import { Lab } from '../../lab/cluster';
import { LabPod } from '../../lab/layout';
import { until } from '../../lab/wait';
import { labDown, labUp } from '../helpers/lab';
import { CLI } from '../helpers/our-speaker';
import { TEST_NETNS_PREFIX } from '../helpers/topology';
import { run } from '../../src/util/exec';

jest.setTimeout(120000);

const PREFIX = `${TEST_NETNS_PREFIX}kl-`;
const DIR = '/run/kube-router-ts/test-kubectl-lab';

describe('lab driven by kubectl: 2 nodes', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = (await labUp(DIR, PREFIX, ['--nodes', '2', '--prometheus=false'])).lab;
  });

  afterAll(async () => {
    await labDown(DIR, PREFIX);
  });

  const nodes = () => lab.state.nodes;
  const pod = (name: string): LabPod => lab.state.pods.find((p) => p.name === name)!;

  it("kubectl from the host's shell reaches the lab through the kubeconfig lab up wrote (127.0.0.1 only)", async () => {
    const kubeconfig = `${DIR}/kubeconfig`;
    expect(fs.readFileSync(kubeconfig, 'utf8')).toMatch(/server: https:\/\/127\.0\.0\.1:\d+\n/);
    for (const kubectl of ['/usr/bin/kubectl', '/usr/local/lib/kube-router-ts/kubectl-1.20']) {
      const r = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'nodes', '-o', 'wide'], { env: { ...process.env, HOME: DIR } });
      for (const n of nodes())
        expect(r.stdout).toMatch(new RegExp(`^${n.name}\\s+Ready\\s+<none>\\s+\\S+\\s+\\S*\\s*${n.ip.replace(/\./g, '\\.')}\\s`, 'm'));
      const pods = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'pods', '-A', '-o', 'wide'], {
        env: { ...process.env, HOME: DIR },
      });
      for (const p of lab.state.pods)
        expect(pods.stdout).toMatch(new RegExp(`\\s${p.name}\\s.*\\s${(p.ip ?? '').replace(/\./g, '\\.')}\\s`));
    }
  });

  it('acts as kubelet, Service IP allocator and endpoint-slice controller for what kubectl applies; lab exec reaches the pod', async () => {
    const kubectl = (...args: string[]) =>
      run('/usr/bin/kubectl', ['--kubeconfig', `${DIR}/kubeconfig`, ...args], { env: { ...process.env, HOME: DIR } }).then((r) => r.stdout);
    const manifest = `${DIR}/web.yaml`;
    fs.writeFileSync(
      manifest,
      `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  nodeName: ${nodes()[1]!.name}
  containers:
  - name: c
    image: none
    command: ["python3", "-m", "http.server", "8080"]
    env: [{name: PYTHONUNBUFFERED, value: "1"}]
    ports: [{containerPort: 8080, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`,
    );
    await kubectl('apply', '-f', manifest);
    try {
      let podIp = '';
      await until(async () => (podIp = await kubectl('get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}')) !== '', 30000, 'the pod IP');
      expect(podIp).toMatch(/^10\.244\.2\.\d+$/);
      expect(await kubectl('get', 'pod', 'web')).toMatch(/^web\s+1\/1\s+Running\s/m);
      // Its command serves HTTP in its own namespace, reachable from a pod on another node.
      const fetch = () =>
        run(
          process.execPath,
          [
            CLI,
            'lab',
            'exec',
            `--dir=${DIR}`,
            pod('node1-pod1').name,
            '--',
            'curl',
            '-s',
            '-m',
            '2',
            '-o',
            '/dev/null',
            '-w',
            '%{http_code}',
            `http://${podIp}:8080/`,
          ],
          { allowFail: true },
        );
      await until(async () => (await fetch()).stdout === '200', 30000, "the pod's web server from node1-pod1");
      const own = await run(process.execPath, [CLI, 'lab', 'exec', `--dir=${DIR}`, 'web', '--', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
      expect(own.stdout).toContain(`inet ${podIp}/24`);
      // The Service got a cluster IP, and an EndpointSlice of the pod with its named port resolved.
      expect(await kubectl('get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}')).toMatch(/^10\.96\.\d+\.\d+$/);
      type Slice = { endpoints?: { addresses: string[] }[]; ports?: { port: number }[] };
      let slice: Slice | undefined;
      await until(
        async () => {
          slice = (
            JSON.parse(await kubectl('get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json')) as { items: Slice[] }
          ).items[0];
          return (slice?.endpoints?.length ?? 0) > 0;
        },
        30000,
        'the EndpointSlice',
      );
      expect(slice!.endpoints!.map((e) => e.addresses[0])).toEqual([podIp]);
      expect(slice!.ports!.map((p) => p.port)).toEqual([8080]);
    } finally {
      await kubectl('delete', '-f', manifest, '--ignore-not-found');
    }
    // Deleting it stops its process and removes its network and namespace.
    await until(async () => !(await run('ip', ['netns', 'list'])).stdout.includes(`${PREFIX}k-`), 30000, "the pod's namespace to go");
    expect((await run('pgrep', ['-f', 'http.server 8080'], { allowFail: true })).stdout).toBe('');

    // A pod made by kubectl run in a namespace of its own goes with that namespace.
    await kubectl('create', 'namespace', 't1');
    await kubectl('run', 'sleeper', '-n', 't1', '--image=none', '--labels=app=in-t1', '--command', '--', 'sleep', '1234');
    await until(
      async () => (await kubectl('get', 'pod', '-n', 't1', 'sleeper', '-o', 'jsonpath={.status.phase}')) === 'Running',
      30000,
      'the pod in t1',
    );
    expect(await kubectl('get', 'pods', '-A', '-l', 'app in (in-t1, other)', '-o', 'name')).toBe('pod/sleeper\n');
    expect((await run('pgrep', ['-f', 'sleep 1234'], { allowFail: true })).stdout).not.toBe('');
    await kubectl('delete', 'namespace', 't1');
    await until(async () => (await run('pgrep', ['-f', 'sleep 1234'], { allowFail: true })).stdout === '', 30000, 'the pod of t1 to stop');
    expect(await kubectl('get', 'pods', '-n', 't1', '-o', 'name')).toBe('');
  });
});
