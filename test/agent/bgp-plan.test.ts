/**
 * The BGP plan (pure) and the differ that applies it: which neighbours, prefixes and policy
 * inputs a node's desired state gives, and which changes restart a session and which do not.
 */
import { agentConfigOf } from '../helpers/agent-flags';
import { compilePolicy, exportDecision, neighbourChange, planBgp, type RoutingInputs } from '../../src/agent/bgp-plan';
import { Routing } from '../../src/agent/routing';
import type { LocalNode } from '../../controllers/nodes';
import { silentLogger, type NeighborInput } from '../../bgp';
import { globalView } from '../../bgp/admin/views';

const config = (...argv: string[]) => agentConfigOf(argv);

const local = (over: Partial<LocalNode> = {}): LocalNode => ({
  name: 'node1',
  ipv4: '127.0.0.1',
  podCidrs: ['10.244.1.0/24'],
  communities: [],
  peers: [],
  localAddresses: [],
  importReject: [],
  ...over,
});

const inputs = (over: Partial<RoutingInputs> = {}): RoutingInputs => ({
  local: local(),
  internalPeers: [
    { node: 'node2', address: '127.0.0.2', asn: 64512, rrClient: false },
    { node: 'node3', address: '127.0.0.3', asn: 64512, rrClient: false },
  ],
  vips: [{ prefix: '10.96.0.10/32', service: 'default/web', kind: 'cluster' }],
  serviceIps: new Set(['10.96.0.10/32']),
  clusterSize: 3,
  ...over,
});

describe('planBgp', () => {
  it('peers with the other nodes (node IP as next hop, a prefix limit) and with external routers', () => {
    const c = config(
      '--peer-router-ips=192.0.2.1',
      '--peer-router-asns=64513',
      '--peer-router-passwords=c2VjcmV0',
      '--advertise-cluster-ip',
    );
    const plan = planBgp(c, inputs());
    expect([...plan.neighbours.keys()]).toEqual(['127.0.0.2', '127.0.0.3', '192.0.2.1']);
    expect(plan.neighbours.get('127.0.0.2')).toMatchObject({
      asn: 64512,
      localAddress: '127.0.0.1',
      description: 'node node2',
      maxPrefixes: 1000,
      families: ['ipv4-unicast'],
    });
    expect(plan.neighbours.get('192.0.2.1')).toMatchObject({ asn: 64513, password: 'secret', description: 'external' });
    expect(plan.originate).toEqual([
      { prefix: '10.244.1.0/24', kind: 'pod' },
      { prefix: '10.96.0.10/32', kind: 'vip' },
    ]);
    expect(plan.policy.internal).toEqual(['127.0.0.2', '127.0.0.3']);
  });

  it("--enable-bfd guards --peer-router-ips' sessions with the flags' timers; a per-node peer uses its own bfd block; other nodes none", () => {
    const c = config(
      '--peer-router-ips=192.0.2.1',
      '--peer-router-asns=64513',
      '--enable-bfd',
      '--bfd-desired-min-tx-interval=300',
      '--bfd-required-min-rx-interval=400',
      '--bfd-detection-multiplier=5',
    );
    const own = { port: 3785, detectMultiplier: 2, desiredMinTxMs: 1000, requiredMinRxMs: 1000 };
    const plan = planBgp(
      c,
      inputs({
        local: local({
          peers: [
            { address: '192.0.2.9', asn: 64519, port: 179, bfd: own },
            { address: '192.0.2.8', asn: 64518, port: 179 },
          ],
        }),
      }),
    );
    expect(plan.neighbours.get('192.0.2.1')!.bfd).toEqual({ port: 3784, detectMultiplier: 5, desiredMinTxMs: 300, requiredMinRxMs: 400 });
    expect(plan.neighbours.get('192.0.2.9')!.bfd).toEqual(own);
    expect(plan.neighbours.get('192.0.2.8')!.bfd).toBeUndefined();
    expect(plan.neighbours.get('127.0.0.2')!.bfd).toBeUndefined();
    // Without --enable-bfd the global peers have none.
    const off = planBgp(config('--peer-router-ips=192.0.2.1', '--peer-router-asns=64513'), inputs());
    expect(off.neighbours.get('192.0.2.1')!.bfd).toBeUndefined();
  });

  it('sends to eBGP peers with TTL 1 unless --peer-router-multihop-ttl (2 or more) is given, MD5 or not; iBGP keeps the system TTL', () => {
    const peers = [
      '--peer-router-ips=192.0.2.1,192.0.2.2,192.0.2.3',
      '--peer-router-asns=64513,64512,64514',
      '--peer-router-passwords=,,c2VjcmV0',
    ];
    const ttls = (...more: string[]) => {
      const n = planBgp(config(...peers, ...more), inputs()).neighbours;
      return ['127.0.0.2', '192.0.2.1', '192.0.2.2', '192.0.2.3'].map((a) => n.get(a)!.ttl);
    };
    expect(ttls()).toEqual([undefined, 1, undefined, 1]);
    expect(ttls('--peer-router-multihop-ttl=1')).toEqual([undefined, 1, undefined, 1]);
    expect(ttls('--peer-router-multihop-ttl=5')).toEqual([undefined, 5, undefined, 5]);
    // A node with its own AS (kube-router.io/node.asn, no full mesh): the cluster AS is external to it.
    const own = planBgp(config(...peers, '--nodes-full-mesh=false'), inputs({ local: local({ asn: 64514 }) })).neighbours;
    expect(['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((a) => own.get(a)!.ttl)).toEqual([1, 1, undefined]);
  });

  it('is a function of its inputs: the same inputs, the same plan', () => {
    const c = config();
    expect(planBgp(c, inputs())).toEqual(planBgp(c, inputs()));
  });

  it('an annotation peer on a node address stays the internal session', () => {
    const plan = planBgp(config(), inputs({ local: local({ peers: [{ address: '127.0.0.2', asn: 65000, port: 179 }] }) }));
    expect(plan.neighbours.get('127.0.0.2')?.asn).toBe(64512);
  });
});

describe('neighbourChange: restart or in place, as BIRD reconfigures', () => {
  const base: NeighborInput = { address: '192.0.2.1', asn: 64513, holdTime: 90, maxPrefixes: 100, description: 'external' };
  it.each([
    ['nothing', {}, { kind: 'unchanged' }],
    ['the prefix limit', { maxPrefixes: 200 }, { kind: 'inPlace', fields: ['maxPrefixes'] }],
    ['the description', { description: 'tor' }, { kind: 'inPlace', fields: ['description'] }],
    ['the password', { password: 'x' }, { kind: 'restart', fields: ['password'] }],
    ['the hold time', { holdTime: 30 }, { kind: 'restart', fields: ['holdTime'] }],
    ['the AS', { asn: 64514 }, { kind: 'restart', fields: ['asn'] }],
    ['the limit and the password', { maxPrefixes: 5, password: 'x' }, { kind: 'restart', fields: ['password'] }],
  ] as const)('%s', (_what, change, want) => {
    expect(neighbourChange(base, { ...base, ...change })).toEqual(want);
  });
  it('adds and removes', () => {
    expect(neighbourChange(undefined, base)).toEqual({ kind: 'add' });
    expect(neighbourChange(base, undefined)).toEqual({ kind: 'remove' });
  });
});

describe('exportDecision (kube-router: default deny)', () => {
  /** A path this node originates. */
  const OURS = { source: undefined };
  const policy = compilePolicy(planBgp(config('--advertise-cluster-ip'), inputs()).policy);
  it.each([
    ['pod CIDR to a node: the node IP as next hop', '10.244.1.0/24', '127.0.0.2', { nextHop: '127.0.0.1' }],
    ['VIP to a node: never', '10.96.0.10/32', '127.0.0.2', 'deny'],
    ['VIP to an external peer: the node IP as next hop', '10.96.0.10/32', '192.0.2.1', { nextHop: '127.0.0.1' }],
    ['pod CIDR to an external peer (--advertise-pod-cidr, on by default)', '10.244.1.0/24', '192.0.2.1', { nextHop: '127.0.0.1' }],
  ] as const)('%s', (_what, prefix, peer, want) => expect(exportDecision(policy, prefix, OURS, peer)).toEqual(want));
  it('--override-nexthop: next-hop-self (the session address) toward external peers only, as kube-router', () => {
    const self = compilePolicy(planBgp(config('--advertise-cluster-ip', '--override-nexthop'), inputs()).policy);
    expect(exportDecision(self, '10.96.0.10/32', OURS, '192.0.2.1')).toEqual({});
    expect(exportDecision(self, '10.244.1.0/24', OURS, '192.0.2.1')).toEqual({});
    expect(exportDecision(self, '10.244.1.0/24', OURS, '127.0.0.2')).toEqual({ nextHop: '127.0.0.1' });
  });
  it('pod CIDR to an external peer with --advertise-pod-cidr=false: never', () => {
    const off = compilePolicy(planBgp(config('--advertise-pod-cidr=false'), inputs()).policy);
    expect(exportDecision(off, '10.244.1.0/24', OURS, '192.0.2.1')).toBe('deny');
  });
  it('nothing learned goes to external peers; what a node said may go to other nodes (the speaker reflects only as a reflector)', () => {
    const fromNode2 = { source: { address: '127.0.0.2', asn: 64512, routerId: '1.1.1.1', ibgp: true } };
    expect(exportDecision(policy, '10.244.2.0/24', fromNode2, '192.0.2.1')).toBe('deny');
    expect(exportDecision(policy, '10.244.2.0/24', fromNode2, '127.0.0.3')).toEqual({});
    const fromRouter = { source: { address: '192.0.2.1', asn: 64513, routerId: '2.2.2.2', ibgp: false } };
    expect(exportDecision(policy, '10.9.0.0/16', fromRouter, '127.0.0.3')).toBe('deny');
  });
  it('a reflector (kube-router.io/rr.server) has the cluster ID and its clients marked', () => {
    const plan = planBgp(
      config(),
      inputs({
        local: local({ rrServer: '0.0.0.42' }),
        internalPeers: [
          { node: 'node2', address: '127.0.0.2', asn: 64512, rrClient: true },
          { node: 'node3', address: '127.0.0.3', asn: 64512, rrClient: false },
        ],
      }),
    );
    expect(plan.neighbours.get('127.0.0.2')!.routeReflectorClient).toBe(true);
    expect(plan.neighbours.get('127.0.0.3')!.routeReflectorClient).toBeUndefined();
    const routing = new Routing(config('--bgp-port=1'), local({ rrServer: '0.0.0.42' }), silentLogger);
    expect(routing.speaker.options.clusterId).toBe('0.0.0.42');
    void routing.stop();
  });
});

describe('Routing applies plans by difference', () => {
  // Neighbours on loopback at a port nothing listens on: connections are refused at once.
  const c = config('--bgp-port=1');
  let routing: Routing;
  beforeEach(() => (routing = new Routing(c, local(), silentLogger)));
  afterEach(() => routing.stop());

  it('a new prefix limit keeps the session; a new local address restarts it', () => {
    routing.sync(inputs());
    const before = routing.speaker.peers.get('127.0.0.2')!;
    routing.sync(inputs({ clusterSize: 1000 }));
    const limited = routing.speaker.peers.get('127.0.0.2')!;
    expect(limited).toBe(before);
    expect(limited.settings.maxPrefixes).toBe(4000);
    routing.sync(inputs({ clusterSize: 1000, local: local({ ipv4: '127.0.0.9' }) }));
    const moved = routing.speaker.peers.get('127.0.0.2')!;
    expect(moved).not.toBe(before);
    expect(moved.settings.localAddress).toBe('127.0.0.9');
  });

  it('originates the plan and withdraws what left it', () => {
    routing.sync(inputs());
    expect(routing.speaker.originated().sort()).toEqual(['10.244.1.0/24', '10.96.0.10/32']);
    // What `bgp global` shows (counted as routes come and go, not walked).
    expect(globalView(routing.speaker).prefixes).toEqual({ originated: 2, locRib: { 'ipv4-unicast': 2 } });
    routing.sync(inputs({ vips: [] }));
    expect(routing.speaker.originated()).toEqual(['10.244.1.0/24']);
    expect(globalView(routing.speaker).prefixes).toEqual({ originated: 1, locRib: { 'ipv4-unicast': 1 } });
    routing.sync(inputs({ internalPeers: [] }));
    expect([...routing.speaker.peers.keys()]).toEqual([]);
  });
});
