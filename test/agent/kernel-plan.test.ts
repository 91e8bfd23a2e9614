/** The overlay decision, as kube-router makes it: plain routes on our subnets, tunnels across them (or everywhere with full). */
import { planKernel, PlanInput } from '../../src/agent/kernel-plan';
import { tunnelName } from '../../src/dataplane/tunnels';

const base: PlanInput = {
  learned: [
    { prefix: '10.244.2.0/24', nextHop: '10.0.0.12' },
    { prefix: '10.244.3.0/24', nextHop: '10.0.1.13' },
    { prefix: '10.244.1.0/24', nextHop: '10.0.0.11' },
  ],
  ownPodCidrs: ['10.244.1.0/24'],
  connected: ['10.0.0.0/24'],
  nodeIps: new Set(['10.0.0.11', '10.0.0.12', '10.0.1.13']),
  local: { ipv4: '10.0.0.11' },
  uplinkMtu: 1500,
};

describe('tunnel names', () => {
  it('are tun-<IP without dots> as in the kube-router notes, hashed when that would not fit 15 characters', () => {
    expect(tunnelName('192.168.50.52')).toBe('tun-1921685052');
    expect(tunnelName('10.0.1.13')).toBe('tun-100113');
    const long = tunnelName('192.168.100.200');
    expect(long).toMatch(/^tun-[0-9a-f]{11}$/);
    expect(tunnelName('fd00::13')).toMatch(/^tun-[0-9a-f]{11}$/);
    expect(tunnelName('fd00::13')).toBe(tunnelName('fd00:0::13'));
    expect(tunnelName('fd00::13')).not.toBe(tunnelName('fd00::14'));
  });
});

describe('planKernel refuses what would take over the node (kube-router #584)', () => {
  it('a learned prefix equal to or inside a connected subnet, our pod CIDR or the service range gets no route, with the reason', () => {
    const p = planKernel({
      ...base,
      serviceRanges: ['10.96.0.0/12'],
      learned: [
        { prefix: '10.0.0.0/24', nextHop: '10.0.0.254', peer: '10.0.0.254' }, // the node's own subnet
        { prefix: '10.0.0.11/32', nextHop: '10.0.0.254', peer: '10.0.0.254' }, // its own address
        { prefix: '10.244.1.128/25', nextHop: '10.0.0.12', peer: '10.0.0.12' }, // more specific of our pod CIDR
        { prefix: '10.244.1.0/24', nextHop: '10.0.0.12', peer: '10.0.0.12' }, // our pod CIDR itself
        { prefix: '10.96.5.0/24', nextHop: '10.0.0.254', peer: '10.0.0.254' }, // inside the service range
        { prefix: '10.0.0.0/8', nextHop: '10.0.0.254', peer: '10.0.0.254' }, // less specific: allowed (longest match keeps ours)
        { prefix: '10.244.2.0/24', nextHop: '10.0.0.12', peer: '10.0.0.12' },
      ],
    });
    expect(p.refused).toEqual([
      { prefix: '10.0.0.0/24', peer: '10.0.0.254', reason: "inside 10.0.0.0/24, a subnet on this node's interfaces" },
      { prefix: '10.0.0.11/32', peer: '10.0.0.254', reason: "inside 10.0.0.0/24, a subnet on this node's interfaces" },
      { prefix: '10.244.1.128/25', peer: '10.0.0.12', reason: "inside this node's pod CIDR 10.244.1.0/24" },
      { prefix: '10.244.1.0/24', peer: '10.0.0.12', reason: "inside this node's pod CIDR 10.244.1.0/24" },
      { prefix: '10.96.5.0/24', peer: '10.0.0.254', reason: 'inside the service cluster IP range 10.96.0.0/12' },
    ]);
    expect(p.routes).toEqual([
      { dst: '10.0.0.0/8', gateway: '10.0.0.254' },
      { dst: '10.244.2.0/24', gateway: '10.0.0.12' },
    ]);
  });
});

describe('planKernel', () => {
  it('without overlay: a plain route on our subnet, nothing for a node in another subnet (a router must carry it)', () => {
    const p = planKernel(base);
    expect(p.routes).toEqual([{ dst: '10.244.2.0/24', gateway: '10.0.0.12' }]);
    expect(p.unreachable).toEqual(['10.244.3.0/24']);
    expect(p.tunnels).toEqual([]);
    expect(p.rules).toEqual([]);
  });

  it('--overlay-type subnet: a tunnel only to the node in another subnet, MTU 1480, its host route in table 77, the rule for our pod CIDR', () => {
    const p = planKernel({ ...base, overlay: { type: 'subnet', encap: 'ipip', port: 5555 } });
    expect(p.tunnels).toEqual([
      { name: 'tun-100113', family: 4, local: '10.0.0.11', remote: '10.0.1.13', encap: 'ipip', port: 5555, mtu: 1480 },
    ]);
    expect(p.routes).toEqual([
      { dst: '10.244.2.0/24', gateway: '10.0.0.12' },
      { dst: '10.244.3.0/24', dev: 'tun-100113', src: '10.0.0.11' },
      { dst: '10.0.1.13/32', dev: 'tun-100113', table: 77 },
    ]);
    expect(p.rules).toEqual([{ family: 4, src: '10.244.1.0/24', table: 77 }]);
    expect(p.fouPorts).toEqual([]);
    expect(p.unreachable).toEqual([]);
  });

  it('--overlay-type full: every node through a tunnel; fou takes 12 more bytes and needs its GUE port', () => {
    const p = planKernel({ ...base, overlay: { type: 'full', encap: 'fou', port: 5555 } });
    expect(p.tunnels.map((t) => [t.name, t.mtu, t.encap])).toEqual([
      ['tun-100012', 1468, 'fou'],
      ['tun-100113', 1468, 'fou'],
    ]);
    expect(p.routes.filter((r) => r.gateway)).toEqual([]);
    expect(p.fouPorts).toEqual([{ port: 5555, family: 4 }]);
  });

  it('never tunnels to what is not a node (a router outside the cluster)', () => {
    const p = planKernel({
      ...base,
      learned: [{ prefix: '0.0.0.0/0', nextHop: '10.0.5.1' }],
      overlay: { type: 'full', encap: 'ipip', port: 5555 },
    });
    expect(p.tunnels).toEqual([]);
    expect(p.unreachable).toEqual(['0.0.0.0/0']);
  });

  it('IPv6: ip6tnl tunnels named by hash, 40 bytes of overhead, a /128 in table 77', () => {
    const p = planKernel({
      ...base,
      learned: [{ prefix: 'fd00:10:244:3::/64', nextHop: 'fd00:1::13' }],
      ownPodCidrs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
      connected: ['10.0.0.0/24', 'fd00::/64'],
      nodeIps: new Set(['fd00:1::13']),
      local: { ipv4: '10.0.0.11', ipv6: 'fd00::11' },
      overlay: { type: 'subnet', encap: 'ipip', port: 5555 },
    });
    const name = tunnelName('fd00:1::13');
    expect(p.tunnels).toEqual([{ name, family: 6, local: 'fd00::11', remote: 'fd00:1::13', encap: 'ipip', port: 5555, mtu: 1460 }]);
    expect(p.routes).toEqual([
      { dst: 'fd00:10:244:3::/64', dev: name, src: 'fd00::11' },
      { dst: 'fd00:1::13/128', dev: name, table: 77 },
    ]);
    expect(p.rules).toEqual([{ family: 6, src: 'fd00:10:244:1::/64', table: 77 }]);
  });
});
