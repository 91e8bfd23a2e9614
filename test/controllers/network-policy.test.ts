/**
 * The network policy plan: namespaces x, y, z with pods a, b, c (as the upstream e2e tests lay
 * them out), a and b of x on this node, everything else elsewhere. Each case is one field of
 * networking.k8s.io/v1 and what kube-router makes of it.
 */
import { computePolicyPlan, NetworkPolicyObject, PolicyPodObject, selectorMatches } from '../../controllers/network-policy';

const NODE = 'node1';
const ip = (ns: string, pod: string) => `10.244.${['x', 'y', 'z'].indexOf(ns) + 1}.${['a', 'b', 'c'].indexOf(pod) + 10}`;
const pods: PolicyPodObject[] = ['x', 'y', 'z'].flatMap((ns) =>
  ['a', 'b', 'c'].map((name) => ({
    metadata: { name, namespace: ns, labels: { pod: name } },
    spec: {
      nodeName: ns === 'x' && name !== 'c' ? NODE : 'node2',
      // Pod b serves "web" on 8080, the others on 80.
      containers: [{ ports: [{ name: 'web', containerPort: name === 'b' ? 8080 : 80, protocol: 'TCP' }] }],
    },
    status: { phase: 'Running', podIP: ip(ns, name) },
  })),
);
const namespaces = ['x', 'y', 'z'].map((ns) => ({ metadata: { name: ns, labels: { ns } } }));
const policy = (name: string, spec: NetworkPolicyObject['spec'], ns = 'x'): NetworkPolicyObject => ({
  metadata: { name, namespace: ns },
  spec,
});
const plan = (...policies: NetworkPolicyObject[]) => {
  const p = computePolicyPlan({ policies, namespaces, pods, nodeName: NODE });
  return { ...p, pod: (name: string) => p.pods.find((x) => x.namespace === 'x' && x.name === name)! };
};

describe('network policy plan', () => {
  it('plans the pods of this node only; without policies nothing is isolated', () => {
    const p = plan();
    expect(p.pods.map((x) => `${x.namespace}/${x.name}`).sort()).toEqual(['x/a', 'x/b']);
    expect(p.pod('a')).toEqual({ namespace: 'x', name: 'a', ips: ['10.244.1.10'] });
  });

  it('an empty rule list denies all ingress to the selected pods only; egress stays open', () => {
    const p = plan(policy('deny', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'] }));
    expect(p.pod('a').ingress).toEqual([]);
    expect(p.pod('a').egress).toBeUndefined();
    expect(p.pod('b').ingress).toBeUndefined();
  });

  it('policyTypes default to Ingress, plus Egress when egress rules are given', () => {
    const p = plan(policy('both', { podSelector: {}, egress: [{}] }));
    expect(p.pod('a').ingress).toEqual([]);
    expect(p.pod('a').egress).toEqual([{ policy: 'x/both', peers: 'any', ports: 'any' }]);
  });

  it('podSelector peers are in the policy namespace; namespaceSelector alone takes whole namespaces; both intersect', () => {
    const p = plan(
      policy('pods', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] }),
      policy('nss', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
      }),
      policy('and', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['z'] }] },
                podSelector: { matchLabels: { pod: 'c' } },
              },
            ],
          },
        ],
      }),
    );
    const rules = p.pod('a').ingress!;
    expect(rules.map((r) => [r.policy, r.peers])).toEqual([
      ['x/pods', { ips: [ip('x', 'b')], cidrs: [] }],
      ['x/nss', { ips: ['y', 'y', 'y'].map((ns, i) => ip(ns, 'abc'[i]!)), cidrs: [] }],
      ['x/and', { ips: [ip('z', 'c')], cidrs: [] }],
    ]);
  });

  it('namespaceSelector matches kubernetes.io/metadata.name even when the namespace object lacks it', () => {
    const p = plan(
      policy('byname', {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'z' } } }] }],
      }),
    );
    expect((p.pod('b').ingress![0]!.peers as { ips: string[] }).ips).toEqual([ip('z', 'a'), ip('z', 'b'), ip('z', 'c')]);
  });

  it('ipBlock with except; ports by number, range and protocol; SCTP; a bad protocol is left out and reported', () => {
    const p = plan(
      policy('cidr', {
        podSelector: {},
        ingress: [
          {
            from: [{ ipBlock: { cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] } }],
            ports: [
              { port: 80 },
              { protocol: 'UDP', port: 81, endPort: 90 },
              { protocol: 'SCTP', port: 82 },
              { protocol: 'ICMP', port: 1 },
            ],
          },
        ],
      }),
    );
    expect(p.pod('a').ingress).toEqual([
      {
        policy: 'x/cidr',
        peers: { ips: [], cidrs: [{ cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] }] },
        ports: [
          { protocol: 'TCP', port: 80 },
          { protocol: 'UDP', port: 81, endPort: 90 },
          { protocol: 'SCTP', port: 82 },
        ],
      },
    ]);
    expect(p.problems).toContainEqual({ policy: 'x/cidr', problem: 'protocol "ICMP": left out' });
  });

  it('a named port resolves on the local pod for ingress, and per destination pod for egress', () => {
    const p = plan(
      policy('in', { podSelector: {}, ingress: [{ ports: [{ port: 'web' }] }] }),
      policy('out', {
        podSelector: { matchLabels: { pod: 'a' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'web' }] }],
      }),
    );
    expect(p.pod('a').ingress![0]!.ports).toEqual([{ protocol: 'TCP', port: 80 }]);
    expect(p.pod('b').ingress![0]!.ports).toEqual([{ protocol: 'TCP', port: 8080 }]);
    const egress = p.pod('a').egress!;
    expect(egress).toHaveLength(2);
    expect(egress.find((r) => r.ports !== 'any' && r.ports[0]!.port === 8080)!.peers).toEqual({
      ips: ['x', 'y', 'z'].map((ns) => ip(ns, 'b')),
      cidrs: [],
    });
    expect((egress.find((r) => r.ports !== 'any' && r.ports[0]!.port === 80)!.peers as { ips: string[] }).ips).toHaveLength(6);
  });

  it('several policies add up; a pod without an IP or with host networking is no peer', () => {
    const extra: PolicyPodObject[] = [
      { metadata: { name: 'pending', namespace: 'x', labels: { pod: 'b' } }, spec: { nodeName: 'node2' }, status: { phase: 'Pending' } },
      {
        metadata: { name: 'host', namespace: 'x', labels: { pod: 'b' } },
        spec: { nodeName: 'node2', hostNetwork: true },
        status: { phase: 'Running', podIP: '10.0.0.12' },
      },
    ];
    const p = computePolicyPlan({
      policies: [
        policy('one', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] }),
        policy('two', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }], ports: [{ port: 81 }] }] }),
      ],
      namespaces,
      pods: [...pods, ...extra],
      nodeName: NODE,
    });
    const a = p.pods.find((x) => x.name === 'a')!;
    expect(a.ingress!.map((r) => [r.policy, (r.peers as { ips: string[] }).ips, r.ports])).toEqual([
      ['x/one', [ip('x', 'b')], 'any'],
      ['x/two', [ip('x', 'c')], [{ protocol: 'TCP', port: 81 }]],
    ]);
  });

  it('selector operators, and an unknown operator matching nothing', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(
      selectorMatches(
        {
          matchExpressions: [
            { key: 'app', operator: 'NotIn', values: ['db'] },
            { key: 'tier', operator: 'Exists' },
          ],
        },
        labels,
      ),
    ).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Matches', values: ['web'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { app: 'web' } }, undefined)).toBe(false);
  });
});
