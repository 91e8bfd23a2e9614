/** Table-driven: Node objects in, desired peers / pod CIDRs / ipsets out. */
import { computeNodes, NodeObject, NodesOptions } from '../../controllers/nodes';
import { Problems } from '../../controllers/problems';

const node = (name: string, ip: string, podCidr: string, annotations: Record<string, string> = {}, ipv6?: string): NodeObject => ({
  metadata: { name, annotations },
  spec: { podCIDR: podCidr, podCIDRs: [podCidr] },
  status: {
    addresses: [
      { type: 'InternalIP', address: ip },
      ...(ipv6 ? [{ type: 'InternalIP', address: ipv6 }] : []),
      { type: 'Hostname', address: name },
    ],
  },
});
const opts = (over: Partial<NodesOptions> = {}): NodesOptions => ({
  nodeName: 'node1',
  clusterAsn: 64512,
  fullMesh: true,
  enableIbgp: true,
  ipv4: true,
  ipv6: false,
  ...over,
});

function run(nodes: NodeObject[], o = opts()) {
  const warnings: string[] = [];
  const problems = new Problems({ warn: (_o, m) => warnings.push(m ?? '') });
  return { ...computeNodes(nodes, o, problems), warnings };
}

// The seed's cluster: 192.168.50.50-52 with /24 pod CIDRs from 10.233.64.0/18.
const seed = () => [
  node('node1', '192.168.50.50', '10.233.64.0/24'),
  node('node2', '192.168.50.51', '10.233.66.0/24'),
  node('node3', '192.168.50.52', '10.233.65.0/24'),
];

describe('nodes controller', () => {
  it('full mesh: every other node is an iBGP peer in the cluster ASN; ipsets hold all pod CIDRs and node IPs', () => {
    const r = run(seed());
    expect(r.local).toMatchObject({ name: 'node1', ipv4: '192.168.50.50', podCidrs: ['10.233.64.0/24'] });
    expect(r.internalPeers).toEqual([
      { node: 'node2', address: '192.168.50.51', asn: 64512, rrClient: false },
      { node: 'node3', address: '192.168.50.52', asn: 64512, rrClient: false },
    ]);
    expect(r.podSubnets).toEqual(['10.233.64.0/24', '10.233.65.0/24', '10.233.66.0/24']);
    expect(r.nodeIps).toEqual(['192.168.50.50', '192.168.50.51', '192.168.50.52']);
  });

  it('--enable-ibgp=false: no node peers', () => expect(run(seed(), opts({ enableIbgp: false })).internalPeers).toEqual([]));

  it('without the full mesh only nodes of the same kube-router.io/node.asn peer', () => {
    const nodes = [
      node('node1', '10.0.0.1', '10.1.1.0/24', { 'kube-router.io/node.asn': '65001' }),
      node('node2', '10.0.0.2', '10.1.2.0/24', { 'kube-router.io/node.asn': '65001' }),
      node('node3', '10.0.0.3', '10.1.3.0/24', { 'kube-router.io/node.asn': '65002' }),
    ];
    expect(run(nodes, opts({ fullMesh: false })).internalPeers).toEqual([
      { node: 'node2', address: '10.0.0.2', asn: 65001, rrClient: false },
    ]);
  });

  it('route reflector roles: a client peers only with servers; a server marks its clients', () => {
    const nodes = (localRole: Record<string, string>) => [
      node('node1', '10.0.0.1', '10.1.1.0/24', localRole),
      node('node2', '10.0.0.2', '10.1.2.0/24', { 'kube-router.io/rr.server': '42' }),
      node('node3', '10.0.0.3', '10.1.3.0/24', { 'kube-router.io/rr.client': '42' }),
    ];
    expect(run(nodes({ 'kube-router.io/rr.client': '42' })).internalPeers.map((p) => p.node)).toEqual(['node2']);
    expect(run(nodes({ 'kube-router.io/rr.server': '42' })).internalPeers).toEqual([
      { node: 'node2', address: '10.0.0.2', asn: 64512, rrClient: false },
      { node: 'node3', address: '10.0.0.3', asn: 64512, rrClient: true },
    ]);
  });

  it("route reflector clusters: clients peer with their own cluster's reflectors, reflectors with their own clients", () => {
    const cluster = [
      node('r1', '10.0.0.1', '10.1.1.0/24', { 'kube-router.io/rr.server': '1' }),
      node('r2', '10.0.0.2', '10.1.2.0/24', { 'kube-router.io/rr.server': '1' }),
      node('s1', '10.0.0.3', '10.1.3.0/24', { 'kube-router.io/rr.server': '2' }),
      node('c1', '10.0.0.4', '10.1.4.0/24', { 'kube-router.io/rr.client': '1' }),
      node('c2', '10.0.0.5', '10.1.5.0/24', { 'kube-router.io/rr.client': '2' }),
    ];
    const peers = (name: string) =>
      run(cluster, opts({ nodeName: name })).internalPeers.map((p) => `${p.node}${p.rrClient ? ' (client)' : ''}`);
    expect(peers('c1')).toEqual(['r1', 'r2']);
    expect(peers('c2')).toEqual(['s1']);
    expect(peers('r1')).toEqual(['r2', 's1', 'c1 (client)']);
    expect(peers('s1')).toEqual(['r1', 'r2', 'c2 (client)']);
  });

  it('the kube-router.io/pod-cidr annotation wins over spec.podCIDRs', () => {
    const r = run([node('node1', '10.0.0.1', '10.1.1.0/24', { 'kube-router.io/pod-cidr': '10.9.9.0/24' })]);
    expect(r.local!.podCidrs).toEqual(['10.9.9.0/24']);
  });

  it('dual-stack: IPv6 pod CIDRs and node IPs when IPv6 is on', () => {
    const n = node('node1', '10.0.0.1', '10.1.1.0/24', {}, 'fd00::1');
    n.spec!.podCIDRs = ['10.1.1.0/24', 'fd00:1:1::/64'];
    const r = run([n], opts({ ipv6: true }));
    expect(r.podSubnets).toEqual(['10.1.1.0/24', 'fd00:1:1::/64']);
    expect(r.nodeIps).toEqual(['10.0.0.1', 'fd00::1']);
    expect(run([n]).podSubnets).toEqual(['10.1.1.0/24']);
  });

  it('reads the local BGP extras: communities, prepend, peers, local addresses, import reject', () => {
    const r = run([
      node('node1', '10.0.0.1', '10.1.1.0/24', {
        'kube-router.io/node.bgp.communities': 'no-export,65000:7',
        'kube-router.io/path-prepend.as': '65000',
        'kube-router.io/path-prepend.repeat-n': '5',
        'kube-router.io/peers': '- remoteip: 10.0.0.254\n  remoteasn: 64513\n',
        'kube-router.io/bgp-local-addresses': '10.0.0.1,10.0.1.1',
        'kube-router.io/node.bgp.customimportreject': '10.0.0.0/16, 192.168.1.0/24',
      }),
    ]);
    expect(r.local).toMatchObject({
      communities: [0xffffff01, 65000 * 65536 + 7],
      prepend: { asn: 65000, times: 5 },
      peers: [{ address: '10.0.0.254', asn: 64513, port: 179 }],
      localAddresses: ['10.0.0.1', '10.0.1.1'],
      importReject: ['10.0.0.0/16', '192.168.1.0/24'],
    });
  });

  it('a garbage annotation is reported once and ignored; the rest of the node stays', () => {
    const bad = [
      node('node1', '10.0.0.1', '10.1.1.0/24', { 'kube-router.io/node.bgp.communities': 'banana', 'kube-router.io/peers': '{{{' }),
      node('node2', '10.0.0.2', '10.1.2.0/24', { 'kube-router.io/node.asn': 'x' }),
    ];
    const warnings: string[] = [];
    const problems = new Problems({ warn: (_o, m) => warnings.push(m ?? '') });
    const r = computeNodes(bad, opts(), problems);
    computeNodes(bad, opts(), problems);
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/kube-router.io\/node.bgp.communities on node\/node1/);
    expect(r.local).toMatchObject({ communities: [], peers: [], podCidrs: ['10.1.1.0/24'] });
    expect(r.internalPeers.map((p) => p.node)).toEqual(['node2']);
  });

  it('an API object missing fields is skipped or taken as far as it goes', () => {
    const r = run([
      { metadata: { name: 'node1' } },
      { metadata: {} },
      { metadata: { name: 'node9' }, status: { addresses: [{ type: 'InternalIP', address: 'garbage' }] } },
    ]);
    expect(r.nodes.map((n) => n.name)).toEqual(['node1', 'node9']);
    expect(r.internalPeers).toEqual([]);
    expect(r.local!.podCidrs).toEqual([]);
  });
});
