/**
 * The load-balancer allocator (--run-loadbalancer) on a 2-node lab with a ToR: a LoadBalancer Service gets the next address of --loadbalancer-ip-range in its status
 * (written by the one agent holding the Lease kube-router-lballoc), the nodes advertise it to the
 * ToR, deleting the Service withdraws it and frees the address; Services of another class are
 * left alone; killing the leader hands the Lease to the other agent, which goes on allocating.
 * The agents also run --enable-bfd toward the ToR (whose BIRD then runs BFD too): the sessions
 * come Up at the flags' intervals, and a node cut off from the ToR loses its BGP session within
 * the detection time, not the hold time.
 */
import { Lab } from '../../lab/cluster';
import { torRoutes } from '../../lab/status';
import { until, sleep } from '../../lab/wait';
import { labDown, labUp } from '../helpers/lab';
import { TEST_NETNS_PREFIX } from '../helpers/topology';
import { apiAccess } from '../../controllers/cluster-watch';

jest.setTimeout(300000);

const PREFIX = `${TEST_NETNS_PREFIX}lb-`;
const DIR = '/run/kube-router-ts/test-loadbalancer';
const RANGE = '203.0.113.0/29';

describe('load-balancer allocator: 2 nodes and a ToR', () => {
  let lab: Lab;
  // Through the lab's own socket, not kubectl: kubectl would use the agents' token, and the last
  // test checks that everything asked with that token is granted to the agents.
  const SERVICES = '/api/v1/namespaces/default/services';
  const service = (name: string, cls?: string) =>
    lab.api.create(SERVICES, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: {
        type: 'LoadBalancer',
        ...(cls ? { loadBalancerClass: cls } : {}),
        selector: { app: name },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    });
  const ingress = async (name: string) =>
    (
      (await lab.api.get<{ status?: { loadBalancer?: { ingress?: { ip: string }[] } } }>(`${SERVICES}/${name}`)).status?.loadBalancer
        ?.ingress ?? []
    )
      .map((i) => i.ip)
      .join(' ');
  const allocated = async (name: string): Promise<string> => {
    let ip = '';
    await until(async () => (ip = await ingress(name)) !== '', 60000, `${name} to get a load-balancer address`);
    return ip;
  };
  const holder = async () =>
    (
      await lab.api.get<{ spec?: { holderIdentity?: string } }>(
        '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-router-lballoc',
      )
    ).spec?.holderIdentity ?? '';
  const nextHops = async (prefix: string) => (await torRoutes(lab)).find((r) => r.prefix === prefix)?.nextHops ?? [];

  beforeAll(async () => {
    const agentArgs =
      `--agent-args=--run-loadbalancer --loadbalancer-ip-range=${RANGE} --advertise-loadbalancer-ip ` +
      '--enable-bfd --bfd-desired-min-tx-interval=300 --bfd-required-min-rx-interval=300';
    lab = (await labUp(DIR, PREFIX, ['--nodes', '2', '--tor', '--prometheus=false', agentArgs])).lab;
  });

  afterAll(async () => {
    await labDown(DIR, PREFIX);
  });

  it('gives a LoadBalancer Service the first address of the range, advertised by both nodes; one agent holds the Lease', async () => {
    await service('web');
    expect(await allocated('web')).toBe('203.0.113.0');
    expect(['node1', 'node2']).toContain(await holder());
    await until(async () => (await nextHops('203.0.113.0/32')).length === 2, 60000, 'the ToR to learn 203.0.113.0/32 from both nodes');
    expect((await nextHops('203.0.113.0/32')).sort()).toEqual(['10.0.0.11', '10.0.0.12']);
  });

  it('leaves other classes alone, serves class kube-router, and hands out a freed address only after the others', async () => {
    await service('theirs', 'example.com/other');
    await service('ours', 'kube-router');
    expect(await allocated('ours')).toBe('203.0.113.1');
    await lab.api.delete(`${SERVICES}/web`);
    await until(async () => (await nextHops('203.0.113.0/32')).length === 0, 60000, '203.0.113.0/32 withdrawn');
    await service('next');
    expect(await allocated('next')).toBe('203.0.113.2');
    expect(await ingress('theirs')).toBe('');
  });

  it('the other agent takes the Lease when the leader is killed, and allocates', async () => {
    const leader = await holder();
    const node = lab.state.nodes.find((n) => n.name === leader)!;
    await lab.stopAgent(node, 'SIGKILL');
    try {
      // The Lease runs 15 s from its last renewal; the other agent checks every 2 s.
      await until(async () => (await holder()) !== leader, 30000, 'the Lease to change hands');
      await service('after');
      // A new leader's cursor starts at the range's start, as kube-router's: web's freed address.
      expect(await allocated('after')).toBe('203.0.113.0');
    } finally {
      lab.startAgent(node);
    }
    // The restarted agent does not take the Lease back while it is held.
    await sleep(5000);
    expect(await holder()).not.toBe(leader);
    expect(await ingress('after')).toBe('203.0.113.0');
  });

  it('the agents ask the API server for nothing the ClusterRole for these flags does not grant', async () => {
    const stats = await lab.api.lab<{ access: Record<string, number> }>('stats');
    const granted = new Set(
      apiAccess({ firewall: true, loadBalancer: true }).flatMap((a) => a.verbs.map((v) => `${v} ${a.apiGroup}/${a.resource}`)),
    );
    const asked = Object.keys(stats.access);
    expect(asked.filter((k) => !granted.has(k)).sort()).toEqual([]);
    expect(asked).toEqual(expect.arrayContaining(['update /services/status', 'create coordination.k8s.io/leases', 'get /services']));
  });

  it("--enable-bfd: BFD Up with the ToR at the flags' intervals; a node cut off from the ToR loses its session within the detection time", async () => {
    const tor = '10.0.0.254';
    const bfdOf = async (name: string) => (await lab.neighbors(lab.node(name))).find((x) => x.address === tor)?.bfd;
    for (const name of ['node1', 'node2'])
      await until(async () => (await bfdOf(name))?.state === 'Up', 60000, `${name}: BFD Up with the ToR`);
    expect(await bfdOf('node1')).toMatchObject({ remoteState: 'Up', txIntervalMs: 300, detectTimeMs: 900 });
    expect(await lab.birdc('show', 'bfd', 'sessions')).toMatch(/10\.0\.0\.11\s+\S+\s+Up/);
    // The sessions between nodes run no BFD (kube-router: external peers only).
    expect((await lab.neighbors(lab.node('node1'))).find((x) => x.address === '10.0.0.12')?.bfd).toBeUndefined();

    const torNs = lab.netns(lab.state.tor!.netns);
    const cut = (op: '-I' | '-D') =>
      Promise.all([
        torNs.exec('iptables', [op, 'INPUT', '-s', '10.0.0.11', '-j', 'DROP']),
        torNs.exec('iptables', [op, 'OUTPUT', '-d', '10.0.0.11', '-j', 'DROP']),
      ]);
    const state = async () => (await lab.neighbors(lab.node('node1'))).find((x) => x.address === tor)?.state;
    await cut('-I');
    try {
      const t0 = Date.now();
      await until(async () => (await state()) !== 'Established', 15000, 'node1: session with the ToR ended by BFD');
      process.stdout.write(`lab BFD: node1's session with the ToR ended ${Date.now() - t0} ms after the path was cut (hold time 90 s)\n`);
      expect(Date.now() - t0).toBeLessThan(10000);
      expect((await lab.neighbors(lab.node('node1'))).find((x) => x.address === tor)?.notifications.sent['6/10']).toBe(1);
    } finally {
      await cut('-D');
    }
    await until(async () => (await state()) === 'Established', 60000, 'node1: session with the ToR back');
  });
});
