/**
 * A dual-stack lab (`lab up --nodes 2 --tor --ipv6`): IPv6 pod CIDRs are advertised and routed
 * next to the IPv4 ones (IPv6 routes over the IPv4 sessions, with IPv6 next hops), pods reach
 * each other over both families, IPv6 egress is masqueraded through the inet6 ipsets, and
 * network policy is enforced over IPv6 as over IPv4.
 */
import { Lab } from '../../lab/cluster';
import { EXTERNAL_HOST6 } from '../../lab/layout';
import { pingMatrix, podPing, torRoutes } from '../../lab/status';
import fs from 'node:fs';
import { until } from '../../lab/wait';
import { run } from '../../src/util/exec';
import { labDown, labUp } from '../helpers/lab';
import { TEST_NETNS_PREFIX } from '../helpers/topology';

jest.setTimeout(120000);

const PREFIX = `${TEST_NETNS_PREFIX}lab6-`;
const DIR = '/run/kube-router-ts/test-lab6';

describe('lab: dual-stack, 2 nodes and a ToR', () => {
  let lab: Lab;

  beforeAll(async () => {
    ({ lab } = await labUp(DIR, PREFIX, ['--nodes', '2', '--tor', '--ipv6']));
  });

  afterAll(() => labDown(DIR, PREFIX));

  const sh = async (netns: string, cmd: string, ...args: string[]): Promise<string> => (await lab.netns(netns).exec(cmd, args)).stdout;

  it('pods have an address of each family and reach each other over both', async () => {
    expect(lab.state.pods.every((p) => p.ip && p.ip6)).toBe(true);
    const pings = await pingMatrix(lab);
    expect(pings.filter((p) => p.family === 6)).toHaveLength(12);
    expect(pings.filter((p) => !p.ok)).toEqual([]);
  });

  it('IPv6 pod CIDRs are in the kernel via the IPv6 node address, and at the ToR', async () => {
    const [n1, n2] = lab.state.nodes as [Lab['state']['nodes'][number], Lab['state']['nodes'][number]];
    const v6 = JSON.parse(await sh(n1.netns, 'ip', '-6', '-j', 'route', 'show')) as { dst: string; gateway?: string; protocol?: string }[];
    expect(v6.filter((r) => r.protocol === '44').map((r) => ({ dst: r.dst, gateway: r.gateway }))).toEqual([
      { dst: n2.podCidr6, gateway: n2.ip6 },
    ]);
    expect(await sh(n1.netns, 'ip', '-6', '-o', 'addr', 'show', 'dev', 'kube-bridge')).toContain(
      `inet6 ${n1.podCidr6!.replace('::/64', '::1/64')}`,
    );
    expect(await torRoutes(lab, 6)).toEqual(lab.state.nodes.map((n) => ({ prefix: n.podCidr6, nextHops: [n.ip6] })));
    expect(await sh(n1.netns, 'sysctl', '-n', 'net.ipv6.conf.all.forwarding')).toBe('1\n');
  });

  it('IPv6 egress leaves with the node address, through the inet6 ipsets and the MASQUERADE rule', async () => {
    const n1 = lab.state.nodes[0]!;
    const pod = lab.state.pods.find((p) => p.node === n1.name)!;
    expect(await podPing(lab, pod, EXTERNAL_HOST6)).toBe(true);
    const ct = await sh(n1.netns, 'conntrack', '-f', 'ipv6', '-L', '-p', 'icmpv6', '-d', EXTERNAL_HOST6);
    expect(ct).toContain(`src=${pod.ip6} dst=${EXTERNAL_HOST6}`);
    expect(ct).toContain(`src=${EXTERNAL_HOST6} dst=${n1.ip6} `);
    const sets = await sh(n1.netns, 'ipset', 'list', 'inet6:kube-router-pod-subnets');
    expect(sets).toMatch(/Type: hash:net\n/);
    expect(sets).toMatch(/family inet6/);
    expect(sets.split('Members:\n')[1]!.trim().split('\n').sort()).toEqual(lab.state.nodes.map((n) => `${n.podCidr6} timeout 0`).sort());
    const rules = (await sh(n1.netns, 'ip6tables-save', '-t', 'nat')).split('\n');
    expect(rules).toContain(
      '-A KUBE-ROUTER-TS-POSTROUTING -m set --match-set inet6:kube-router-pod-subnets src' +
        ' -m set ! --match-set inet6:kube-router-pod-subnets dst -m set ! --match-set inet6:kube-router-node-ips dst -j MASQUERADE --random-fully',
    );
  });

  it("network policy holds over IPv6 too: an ipBlock of node1's IPv6 pod CIDR admits only its pods, only over IPv6", async () => {
    const [n1] = lab.state.nodes;
    const ns = lab.state.pods[0]!.namespace;
    const kubectl = (...args: string[]) =>
      run('/usr/bin/kubectl', ['--kubeconfig', `${DIR}/kubeconfig`, ...args], { env: { ...process.env, HOME: DIR } });
    const file = `${DIR}/v6-policy.yaml`;
    fs.writeFileSync(
      file,
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-node1-v6, namespace: "${ns}"}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: "${n1!.podCidr6}"}}]}]
`,
    );
    await kubectl('apply', '-f', file);
    const onNode1 = new Set(lab.state.pods.filter((p) => p.node === n1!.name).map((p) => p.name));
    const wrong = async () => (await pingMatrix(lab)).filter((p) => p.ok !== (p.family === 6 && onNode1.has(p.from)));
    try {
      let last: unknown[] = [];
      await until(async () => (last = await wrong()).length === 0, 20000, 'the IPv6 policy').catch((e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(last)}`);
      });
      // Both families' firewalls hold the pods' chains.
      expect(await sh(n1!.netns, 'ip6tables-save', '-t', 'filter')).toMatch(
        /-A KUBE-ROUTER-TS-NP-FORWARD -d \S+\/128 .* -j KUBE-ROUTER-TS-NP-I-/,
      );
    } finally {
      await kubectl('delete', '-f', file);
    }
    await until(async () => (await pingMatrix(lab)).every((p) => p.ok), 20000, 'every ping again');
  });
});
