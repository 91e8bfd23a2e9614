/**
 * The load-balancer allocator (--run-loadbalancer) on a 2-node lab with a ToR: a LoadBalancer Service gets the next address of --loadbalancer-ip-range in its status
 * (written by the one agent holding the Lease kube-router-lballoc), the nodes advertise it to the
 * ToR, deleting the Service withdraws it and frees the address; Services of another class are
 * left alone; killing the leader hands the Lease to the other agent, which goes on allocating.
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
    const agentArgs = `--agent-args=--run-loadbalancer --loadbalancer-ip-range=${RANGE} --advertise-loadbalancer-ip`;
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
});
