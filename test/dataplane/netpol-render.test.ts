/**
 * The firewall's rules and sets from a policy plan (pure): which chains exist, what each rule
 * matches, how ipBlocks become sets with exceptions, per family.
 */
import { netMembers, podChain, renderFirewall, restoreInput, type PodPolicyPlan } from '../../src/dataplane/netpol';

const pod = (name: string, extra: Partial<PodPolicyPlan> = {}): PodPolicyPlan => ({
  namespace: 'x',
  name,
  ips: [`10.244.1.${name.charCodeAt(0) - 90}`, `fd00::${name.charCodeAt(0) - 90}`],
  ...extra,
});

describe('network policy rendering', () => {
  it('gives no chain to a pod no policy isolates; the top-level chains exist anyway', () => {
    const r = renderFirewall({ pods: [pod('a')], serviceRanges: ['10.96.0.0/12'] });
    expect(r.families[4].chains).toEqual(['KUBE-ROUTER-TS-NP-INPUT', 'KUBE-ROUTER-TS-NP-FORWARD', 'KUBE-ROUTER-TS-NP-OUTPUT']);
    expect(r.families[4].rules).toEqual([
      '-A KUBE-ROUTER-TS-NP-INPUT -d 10.96.0.0/12 -m comment --comment "kube-router-ts service IPs: judged at the endpoint" -j RETURN',
    ]);
    expect(r.families[6].rules).toEqual([]);
    expect(r.sets).toEqual([]);
  });

  it('an isolated pod: jumps for its addresses, established and the node first, each allowed peer and port, then REJECT', () => {
    const a = pod('a', {
      ingress: [
        { policy: 'x/p1', peers: { ips: ['10.244.2.7', '10.244.1.9', 'fd00::9'], cidrs: [] }, ports: [{ protocol: 'TCP', port: 80 }] },
        { policy: 'x/p2', peers: 'any', ports: [{ protocol: 'UDP', port: 81, endPort: 90 }, { protocol: 'SCTP' }] },
      ],
    });
    const r = renderFirewall({ pods: [a], serviceRanges: [] });
    const chain = podChain('I', 'x', 'a');
    expect(chain).toMatch(/^KUBE-ROUTER-TS-NP-I-[0-9A-F]{8}$/);
    expect(chain.length).toBeLessThanOrEqual(28);
    const v4set = r.sets.find((s) => s.family === 'inet')!;
    expect(v4set).toMatchObject({ type: 'hash:ip', members: ['10.244.1.9', '10.244.2.7'] });
    expect(v4set.name.length).toBeLessThanOrEqual(31);
    expect(r.families[4].rules).toEqual([
      `-A KUBE-ROUTER-TS-NP-FORWARD -d 10.244.1.7/32 -m comment --comment "kube-router-ts to x/a" -j ${chain}`,
      `-A KUBE-ROUTER-TS-NP-OUTPUT -d 10.244.1.7/32 -m comment --comment "kube-router-ts to x/a" -j ${chain}`,
      `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
      `-A ${chain} -m conntrack --ctstate INVALID -j DROP`,
      `-A ${chain} -m addrtype --src-type LOCAL -m comment --comment "kube-router-ts from the node" -j RETURN`,
      `-A ${chain} -m set --match-set ${v4set.name} src -p tcp --dport 80 -m comment --comment "kube-router-ts x/p1" -j RETURN`,
      `-A ${chain} -p udp --dport 81:90 -m comment --comment "kube-router-ts x/p2" -j RETURN`,
      `-A ${chain} -p sctp -m comment --comment "kube-router-ts x/p2" -j RETURN`,
      `-A ${chain} -m comment --comment "kube-router-ts ingress of x/a: not allowed" -j REJECT`,
    ]);
    // IPv6 gets its own set and rules for the pod's IPv6 address.
    expect(r.sets.find((s) => s.family === 'inet6')!.members).toEqual(['fd00::9']);
    expect(r.families[6].rules[0]).toBe(
      `-A KUBE-ROUTER-TS-NP-FORWARD -d fd00::7/128 -m comment --comment "kube-router-ts to x/a" -j ${chain}`,
    );
  });

  it('egress is judged on the way out (FORWARD and INPUT by source) against destination sets; an empty rule list only rejects', () => {
    const b = pod('b', { egress: [] });
    const r = renderFirewall({ pods: [b], serviceRanges: [] });
    const chain = podChain('E', 'x', 'b');
    expect(r.families[4].rules).toEqual([
      `-A KUBE-ROUTER-TS-NP-INPUT -s 10.244.1.8/32 -m comment --comment "kube-router-ts from x/b" -j ${chain}`,
      `-A KUBE-ROUTER-TS-NP-FORWARD -s 10.244.1.8/32 -m comment --comment "kube-router-ts from x/b" -j ${chain}`,
      `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
      `-A ${chain} -m conntrack --ctstate INVALID -j DROP`,
      `-A ${chain} -m comment --comment "kube-router-ts egress of x/b: not allowed" -j REJECT`,
    ]);
    const c = pod('c', { egress: [{ policy: 'x/e', peers: { ips: ['10.244.3.3'], cidrs: [] }, ports: 'any' }] });
    const set = renderFirewall({ pods: [c], serviceRanges: [] }).sets[0]!;
    expect(renderFirewall({ pods: [c], serviceRanges: [] }).families[4].rules).toContain(
      `-A ${podChain('E', 'x', 'c')} -m set --match-set ${set.name} dst -m comment --comment "kube-router-ts x/e" -j RETURN`,
    );
  });

  it('ipBlocks: a hash:net set per block with the exceptions as nomatch members, /0 in halves, one host as a plain match', () => {
    expect(netMembers('10.1.2.3/16')).toEqual(['10.1.0.0/16']);
    expect(netMembers('10.1.2.3/32')).toEqual(['10.1.2.3']);
    expect(netMembers('0.0.0.0/0')).toEqual(['0.0.0.0/1', '128.0.0.0/1']);
    expect(netMembers('::/0')).toEqual(['::/1', '8000::/1']);
    const a = pod('a', {
      ingress: [
        {
          policy: 'x/blocks',
          peers: {
            ips: [],
            cidrs: [
              { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.1.1/32'] },
              { cidr: '172.16.0.5/32', except: [] },
              { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] },
            ],
          },
          ports: 'any',
        },
      ],
    });
    const r = renderFirewall({ pods: [a], serviceRanges: [] });
    expect(r.sets.map((s) => [s.type, s.family, s.members])).toEqual([
      ['hash:net', 'inet', ['0.0.0.0/1', '10.0.0.0/8 nomatch', '128.0.0.0/1', '192.168.1.1 nomatch']],
      ['hash:net', 'inet6', ['2001:db8:1::/48 nomatch', '2001:db8::/32']],
    ]);
    const chain = podChain('I', 'x', 'a');
    expect(r.families[4].rules).toContain(`-A ${chain} -s 172.16.0.5/32 -m comment --comment "kube-router-ts x/blocks" -j RETURN`);
  });

  it('the same selection in two pods is one set; a pod of another selection gets another', () => {
    const rule = (ips: string[]) => [{ policy: 'x/p', peers: { ips, cidrs: [] }, ports: 'any' as const }];
    const r = renderFirewall({
      pods: [
        pod('a', { ingress: rule(['10.0.0.1', '10.0.0.2']) }),
        pod('b', { ingress: rule(['10.0.0.2', '10.0.0.1']) }),
        pod('c', { ingress: rule(['10.0.0.3']) }),
      ],
      serviceRanges: [],
    });
    expect(r.sets).toHaveLength(2);
  });

  it('restore input: every chain declared (flushed), stale ones emptied and deleted in the same transaction', () => {
    const r = renderFirewall({ pods: [pod('a', { egress: [] })], serviceRanges: [] });
    const text = restoreInput(r.families[4], ['KUBE-ROUTER-TS-NP-I-DEADBEEF']);
    expect(text.split('\n')).toEqual([
      '*filter',
      ...r.families[4].chains.map((c) => `:${c} - [0:0]`),
      ':KUBE-ROUTER-TS-NP-I-DEADBEEF - [0:0]',
      ...r.families[4].rules,
      '-X KUBE-ROUTER-TS-NP-I-DEADBEEF',
      'COMMIT',
      '',
    ]);
  });
});
