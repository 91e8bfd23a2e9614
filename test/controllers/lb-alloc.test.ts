/** The load-balancer IP allocator (pure): which Services get which address, as kube-router's lballoc. */
import { LbAllocator, type LbServiceObject } from '../../controllers/lb-alloc';

const lb = (name: string, spec: LbServiceObject['spec'] = {}, ingress: string[] = []): LbServiceObject => ({
  metadata: { name, namespace: 'default' },
  spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], ...spec },
  ...(ingress.length ? { status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } } } : {}),
});
const given = (a: LbAllocator, services: LbServiceObject[]) => a.plan(services).allocations.map((x) => `${x.name} ${x.ips.join(',')}`);

describe('load-balancer allocator', () => {
  it('gives each Service of its class the next free address; taken ones (ingress or externalIPs) are skipped', () => {
    const a = new LbAllocator(['198.51.100.0/30'], true);
    const s = [lb('a'), lb('b', { externalIPs: ['198.51.100.1'] }), lb('c', {}, ['198.51.100.2']), lb('d')];
    expect(given(a, s)).toEqual(['a 198.51.100.0', 'b 198.51.100.3']);
  });

  it('walks on from the last address given: one freed by a deleted Service is not handed out at once', () => {
    const a = new LbAllocator(['198.51.100.0/29'], true);
    expect(given(a, [lb('a')])).toEqual(['a 198.51.100.0']);
    expect(given(a, [lb('a', {}, ['198.51.100.0']), lb('b')])).toEqual(['b 198.51.100.1']);
    // a deleted: .0 is free again, but the next Service gets .2.
    expect(given(a, [lb('b', {}, ['198.51.100.1']), lb('c')])).toEqual(['c 198.51.100.2']);
  });

  it('runs out with a clear problem, and wraps around to freed addresses', () => {
    const a = new LbAllocator(['198.51.100.8/31'], true);
    const full = [lb('a', {}, ['198.51.100.8']), lb('b', {}, ['198.51.100.9']), lb('c')];
    expect(a.plan(full)).toEqual({
      allocations: [],
      problems: [{ service: 'default/c', problem: 'no IPv4 address left in --loadbalancer-ip-range' }],
    });
    expect(given(a, [full[1]!, full[2]!])).toEqual(['c 198.51.100.8']);
  });

  it('takes only its class: "kube-router" always, none or "default" with --loadbalancer-default-class; never other types', () => {
    const s = [
      lb('none'),
      lb('dflt', { loadBalancerClass: 'default' }),
      lb('ours', { loadBalancerClass: 'kube-router' }),
      lb('metallb', { loadBalancerClass: 'metallb' }),
    ];
    const np = { metadata: { name: 'np', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '10.96.0.11' } };
    expect(given(new LbAllocator(['198.51.100.0/24'], true), [...s, np])).toEqual([
      'none 198.51.100.0',
      'dflt 198.51.100.1',
      'ours 198.51.100.2',
    ]);
    expect(given(new LbAllocator(['198.51.100.0/24'], false), s)).toEqual(['ours 198.51.100.0']);
  });

  it('dual stack: an address per family wanted; RequireDualStack without an IPv6 range gets none, PreferDualStack the IPv4 one', () => {
    const v4 = new LbAllocator(['198.51.100.0/24'], true);
    const dual = (policy: string) => lb(policy, { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: policy });
    expect(v4.plan([dual('RequireDualStack'), dual('PreferDualStack')])).toEqual({
      allocations: [{ namespace: 'default', name: 'PreferDualStack', ips: ['198.51.100.0'] }],
      problems: [
        { service: 'default/RequireDualStack', problem: 'IPv6 address required (RequireDualStack), but no IPv6 --loadbalancer-ip-range' },
        { service: 'default/PreferDualStack', problem: 'no IPv6 --loadbalancer-ip-range' },
      ],
    });
    const both = new LbAllocator(['198.51.100.0/24', 'fd00:198::/64'], true);
    expect(given(both, [dual('RequireDualStack')])).toEqual(['RequireDualStack 198.51.100.0,fd00:198::']);
    // Only the missing family is added to a Service holding the other.
    expect(given(both, [lb('half', { ipFamilies: ['IPv4', 'IPv6'] }, ['198.51.100.7'])])).toEqual(['half fd00:198::']); // (the earlier one is held by no Service here)
  });

  it('without spec.ipFamilies the cluster IPs say which families; a Service missing fields is skipped, not fatal', () => {
    const a = new LbAllocator(['198.51.100.0/24', 'fd00:198::/120'], true);
    const noFamilies = lb('nf', { ipFamilies: undefined as unknown as string[], clusterIPs: ['10.96.0.10', 'fd00:96::10'] });
    const bare = { metadata: { name: 'bare', namespace: 'default' }, spec: { type: 'LoadBalancer' } };
    expect(given(a, [noFamilies, bare, {} as LbServiceObject])).toEqual(['nf 198.51.100.0,fd00:198::']);
  });

  it('a /64 with few taken is searched from the cursor only (no walk of 2^64 addresses)', () => {
    const a = new LbAllocator(['fd00:1::/64'], true);
    const s = [lb('x', { ipFamilies: ['IPv6'] }, ['fd00:1::']), lb('y', { ipFamilies: ['IPv6'] })];
    expect(given(a, s)).toEqual(['y fd00:1::1']);
  });
});
