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
  it('lets through INPUT, as kube-router, what is judged at the endpoint: cluster IPs, node ports, external and LB ranges', () => {
    const r = renderFirewall({
      pods: [],
      serviceRanges: ['10.96.0.0/12', 'fd00:96::/112'],
      nodePortRange: '30000:32767',
      vipRanges: ['198.51.100.0/24', '2001:db8:1::/64'],
    });
    const ports = (p: string) =>
      `-A KUBE-ROUTER-TS-NP-INPUT -p ${p} -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -m comment --comment "kube-router-ts node ports: judged at the endpoint" -j RETURN`;
    expect(r.families[4].rules).toEqual([
      '-A KUBE-ROUTER-TS-NP-INPUT -d 10.96.0.0/12 -m comment --comment "kube-router-ts service IPs: judged at the endpoint" -j RETURN',
      ports('tcp'),
      ports('udp'),
      ports('sctp'),
      '-A KUBE-ROUTER-TS-NP-INPUT -d 198.51.100.0/24 -m comment --comment "kube-router-ts external and LB IPs: judged at the endpoint" -j RETURN',
    ]);
    expect(r.families[6].rules).toEqual([
      '-A KUBE-ROUTER-TS-NP-INPUT -d fd00:96::/112 -m comment --comment "kube-router-ts service IPs: judged at the endpoint" -j RETURN',
      ports('tcp'),
      ports('udp'),
      ports('sctp'),
      '-A KUBE-ROUTER-TS-NP-INPUT -d 2001:db8:1::/64 -m comment --comment "kube-router-ts external and LB IPs: judged at the endpoint" -j RETURN',
    ]);
  });

  it('gives no chain to a pod no policy isolates; the top-level chains exist anyway', () => {
    const r = renderFirewall({ pods: [pod('a')], serviceRanges: ['10.96.0.0/12'] });
    expect(r.families[4].chains).toEqual(['KUBE-ROUTER-TS-NP-INPUT', 'KUBE-ROUTER-TS-NP-FORWARD', 'KUBE-ROUTER-TS-NP-OUTPUT']);
    expect(r.families[4].rules).toEqual([
      '-A KUBE-ROUTER-TS-NP-INPUT -d 10.96.0.0/12 -m comment --comment "kube-router-ts service IPs: judged at the endpoint" -j RETURN',
    ]);
    expect(r.families[6].rules).toEqual([]);
    expect(r.sets).toEqual([]);
  });

  /** The policy chains of a family, in order, and the rules in one of them. */
  const policyChains = (r: ReturnType<typeof renderFirewall>, f: 4 | 6) => r.families[f].chains.filter((c) => c.includes('-NP-P-'));
  const rulesOf = (r: ReturnType<typeof renderFirewall>, f: 4 | 6, chain: string) =>
    r.families[f].rules.filter((l) => l.startsWith(`-A ${chain} `));

  it('an isolated pod: jumps for its addresses; established and the node first, then each policy chain; unmarked is rejected', () => {
    const a = pod('a', {
      ingress: [
        { policy: 'x/p1', peers: { ips: ['10.244.2.7', '10.244.1.9', 'fd00::9'], cidrs: [] }, ports: [{ protocol: 'TCP', port: 80 }] },
        { policy: 'x/p2', peers: 'any', ports: [{ protocol: 'UDP', port: 81, endPort: 90 }, { protocol: 'SCTP' }] },
      ],
    });
    const r = renderFirewall({ pods: [a], serviceRanges: [] });
    const chain = podChain('I', 'x', 'a');
    expect(chain).toMatch(/^KUBE-ROUTER-TS-NP-I-[A-Z2-7]{8}$/);
    const [p1, p2] = policyChains(r, 4);
    for (const c of [chain, p1!, p2!]) expect(c.length).toBeLessThanOrEqual(28);
    const v4set = r.sets.find((s) => s.family === 'inet')!;
    expect(v4set).toMatchObject({ type: 'hash:ip', members: ['10.244.1.9', '10.244.2.7'] });
    expect(v4set.name.length).toBeLessThanOrEqual(31);
    expect(r.families[4].rules.slice(0, 2)).toEqual([
      `-A KUBE-ROUTER-TS-NP-FORWARD -d 10.244.1.7/32 -m comment --comment "kube-router-ts to x/a" -j ${chain}`,
      `-A KUBE-ROUTER-TS-NP-OUTPUT -d 10.244.1.7/32 -m comment --comment "kube-router-ts to x/a" -j ${chain}`,
    ]);
    expect(rulesOf(r, 4, chain)).toEqual([
      `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
      `-A ${chain} -m conntrack --ctstate INVALID -j DROP`,
      `-A ${chain} -m addrtype --src-type LOCAL -m comment --comment "kube-router-ts from the node" -j RETURN`,
      `-A ${chain} -j MARK --set-xmark 0x0/0x10000`,
      `-A ${chain} -m comment --comment "kube-router-ts x/p1" -j ${p1}`,
      `-A ${chain} -m comment --comment "kube-router-ts x/p2" -j ${p2}`,
      `-A ${chain} -m mark ! --mark 0x10000/0x10000 -m comment --comment "kube-router-ts ingress of x/a: not allowed" -j REJECT`,
      `-A ${chain} -j MARK --set-xmark 0x0/0x10000`,
    ]);
    expect(rulesOf(r, 4, p1!)).toEqual([
      `-A ${p1} -m set --match-set ${v4set.name} src -p tcp --dport 80 -m comment --comment "kube-router-ts x/p1" -j MARK --set-xmark 0x10000/0x10000`,
    ]);
    expect(rulesOf(r, 4, p2!)).toEqual([
      `-A ${p2} -p udp --dport 81:90 -m comment --comment "kube-router-ts x/p2" -j MARK --set-xmark 0x10000/0x10000`,
      `-A ${p2} -p sctp -m comment --comment "kube-router-ts x/p2" -j MARK --set-xmark 0x10000/0x10000`,
    ]);
    // IPv6 gets its own set and rules for the pod's IPv6 address.
    expect(r.sets.find((s) => s.family === 'inet6')!.members).toEqual(['fd00::9']);
    expect(r.families[6].rules[0]).toBe(
      `-A KUBE-ROUTER-TS-NP-FORWARD -d fd00::7/128 -m comment --comment "kube-router-ts to x/a" -j ${chain}`,
    );
  });

  it('a policy selecting many pods is one chain they all jump to; rules grow with policies plus pods', () => {
    const rules = [{ policy: 'x/p', peers: { ips: ['10.244.9.9'], cidrs: [] }, ports: [{ protocol: 'TCP' as const, port: 80 }] }];
    const many = Array.from({ length: 50 }, (_, i) => ({ namespace: 'x', name: `p${i}`, ips: [`10.244.1.${i + 1}`], ingress: rules }));
    const r = renderFirewall({ pods: many, serviceRanges: [] });
    expect(policyChains(r, 4)).toHaveLength(1);
    expect(r.families[4].chains).toHaveLength(3 + 50 + 1);
    // A named port resolving to another number on one pod gives that pod a chain of its own.
    const other = { ...many[0]!, name: 'odd', ingress: [{ ...rules[0]!, ports: [{ protocol: 'TCP' as const, port: 8080 }] }] };
    expect(policyChains(renderFirewall({ pods: [...many, other], serviceRanges: [] }), 4)).toHaveLength(2);
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
      `-A ${chain} -j MARK --set-xmark 0x0/0x10000`,
      `-A ${chain} -m mark ! --mark 0x10000/0x10000 -m comment --comment "kube-router-ts egress of x/b: not allowed" -j REJECT`,
      `-A ${chain} -j MARK --set-xmark 0x0/0x10000`,
    ]);
    const c = pod('c', { egress: [{ policy: 'x/e', peers: { ips: ['10.244.3.3'], cidrs: [] }, ports: 'any' }] });
    const rc = renderFirewall({ pods: [c], serviceRanges: [] });
    const p = policyChains(rc, 4)[0]!;
    expect(rulesOf(rc, 4, p)).toEqual([
      `-A ${p} -m set --match-set ${rc.sets[0]!.name} dst -m comment --comment "kube-router-ts x/e" -j MARK --set-xmark 0x10000/0x10000`,
    ]);
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
    const p = policyChains(r, 4)[0]!;
    expect(r.families[4].rules).toContain(
      `-A ${p} -s 172.16.0.5/32 -m comment --comment "kube-router-ts x/blocks" -j MARK --set-xmark 0x10000/0x10000`,
    );
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

  it("--netpol-default-deny: a set of the known pods, and REJECT for any other address of the pod CIDRs (not the node's own)", () => {
    const r = renderFirewall({
      pods: [pod('a'), pod('b', { egress: [] })],
      serviceRanges: [],
      defaultDeny: { podCidrs: ['10.244.1.0/24', 'fd00::/64'] },
    });
    expect(r.sets.find((x) => x.name === 'KRT-NP-LOCAL-PODS')).toEqual({
      name: 'KRT-NP-LOCAL-PODS',
      type: 'hash:ip',
      family: 'inet',
      members: ['10.244.1.7', '10.244.1.8'],
    });
    expect(r.sets.find((x) => x.name === 'KRT-NP-LOCAL-PODS6')!.members).toEqual(['fd00::7', 'fd00::8']);
    const tail = (chain: string, flag: string, dir: string) =>
      `-A ${chain} ${flag} 10.244.1.0/24 -m addrtype ! --${dir}-type LOCAL -m set ! --match-set KRT-NP-LOCAL-PODS ${dir} -m comment --comment "kube-router-ts not a known pod (default deny)" -j REJECT`;
    const rules = r.families[4].rules;
    for (const rule of [
      tail('KUBE-ROUTER-TS-NP-FORWARD', '-s', 'src'),
      tail('KUBE-ROUTER-TS-NP-FORWARD', '-d', 'dst'),
      tail('KUBE-ROUTER-TS-NP-INPUT', '-s', 'src'),
      tail('KUBE-ROUTER-TS-NP-OUTPUT', '-d', 'dst'),
    ])
      expect(rules).toContain(rule);
    // After the jumps of the known pods' own chains.
    expect(rules.indexOf(tail('KUBE-ROUTER-TS-NP-FORWARD', '-s', 'src'))).toBeGreaterThan(
      rules.findIndex((l) => l.startsWith('-A KUBE-ROUTER-TS-NP-FORWARD -s 10.244.1.8/32')),
    );
    expect(renderFirewall({ pods: [pod('a')], serviceRanges: [] }).sets).toEqual([]);
  });
});
