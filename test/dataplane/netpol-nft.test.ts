/**
 * --use-nftables-for-netpol, pure: every rule form netpol.ts writes in its nftables form, ipBlock
 * sets as ranges without their exceptions, and the table replaced whole in one transaction.
 * (test/dataplane/firewall.test.ts loads it into a kernel; test/lab/netpol.test.ts sends traffic.)
 */
import { prefixMinus } from '../../net/range';
import { nftRule, nftRuleset, nftSet } from '../../src/dataplane/netpol-nft';
import { renderFirewall } from '../../src/dataplane/netpol';

describe('network policy as nftables', () => {
  it('translates each match and target netpol.ts uses, with the comment last', () => {
    const cases: [string, string][] = [
      [
        '-A C -d 10.96.0.0/12 -m comment --comment "kube-router-ts service IPs" -j RETURN',
        'ip daddr 10.96.0.0/12 return comment "kube-router-ts service IPs"',
      ],
      [
        '-A C -p tcp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN',
        'meta l4proto tcp fib daddr type local th dport 30000-32767 return',
      ],
      ['-A C -s 10.244.1.8/32 -j KUBE-ROUTER-TS-NP-E-X', 'ip saddr 10.244.1.8/32 jump KUBE-ROUTER-TS-NP-E-X'],
      ['-A C -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN', 'ct state related,established return'],
      ['-A C -m conntrack --ctstate INVALID -j DROP', 'ct state invalid drop'],
      ['-A C -m addrtype --src-type LOCAL -j RETURN', 'fib saddr type local return'],
      ['-A C -j MARK --set-xmark 0x0/0x10000', 'meta mark set meta mark & 0xfffeffff'],
      [
        '-A C -m set --match-set KRT-NP-A src -p udp --dport 81:90 -j MARK --set-xmark 0x10000/0x10000',
        'ip saddr @KRT-NP-A meta l4proto udp th dport 81-90 meta mark set meta mark | 0x00010000',
      ],
      ['-A C -m mark ! --mark 0x10000/0x10000 -j REJECT', 'meta mark & 0x00010000 != 0x00010000 reject'],
      [
        '-A C -s 10.244.1.0/24 -m addrtype ! --src-type LOCAL -m set ! --match-set KRT-NP-LOCAL-PODS src -j REJECT',
        'ip saddr 10.244.1.0/24 fib saddr type != local ip saddr != @KRT-NP-LOCAL-PODS reject',
      ],
    ];
    for (const [line, rule] of cases) expect(nftRule(line, 4)).toEqual({ chain: 'C', rule });
    expect(nftRule('-A C -d fd00::7/128 -m set --match-set S dst -j RETURN', 6).rule).toBe('ip6 daddr fd00::7/128 ip6 daddr @S return');
    // nftables keeps 128 bytes of a comment; quotes cannot be in one.
    expect(nftRule(`-A C -m comment --comment "${'n'.repeat(300)}" -j RETURN`, 4).rule).toBe(`return comment "${'n'.repeat(128)}"`);
  });

  it('refuses what it has no form for, rather than dropping a match', () => {
    expect(() => nftRule('-A C -m physdev --physdev-in x -j RETURN', 4)).toThrow(/no nftables form for "--physdev-in"/);
    expect(() => nftRule('-A C -j MARK --set-xmark 0x5/0x10000', 4)).toThrow(/neither set nor cleared/);
    expect(() => nftRule('-I C 1 -j RETURN', 4)).toThrow(/not a rule/);
  });

  it('an ipBlock set holds the ranges left after its exceptions; an address set holds addresses', () => {
    expect(prefixMinus('10.0.0.0/8', ['10.1.0.0/16', '10.0.0.5/32'])).toEqual([
      '10.0.0.0-10.0.0.4',
      '10.0.0.6-10.0.255.255',
      '10.2.0.0-10.255.255.255',
    ]);
    expect(prefixMinus('10.9.9.9/32', [])).toEqual(['10.9.9.9']);
    expect(prefixMinus('10.9.0.0/16', ['10.0.0.0/8'])).toEqual([]);
    expect(prefixMinus('fd00::/64', ['fd00::/65'])).toEqual(['fd00::8000:0:0:0-fd00::ffff:ffff:ffff:ffff']);
    expect(
      nftSet({ name: 'KRT-NP-N', type: 'hash:net', family: 'inet', members: ['0.0.0.0/1', '128.0.0.0/1', '10.0.0.0/8 nomatch'] }),
    ).toBe(
      '  set KRT-NP-N { type ipv4_addr; flags interval; elements = { 0.0.0.0-9.255.255.255, 11.0.0.0-127.255.255.255, 128.0.0.0-255.255.255.255 }; }',
    );
    expect(nftSet({ name: 'KRT-NP-I', type: 'hash:ip', family: 'inet6', members: ['fd00::9'] })).toBe(
      '  set KRT-NP-I { type ipv6_addr; elements = { fd00::9 }; }',
    );
    expect(nftSet({ name: 'KRT-NP-E', type: 'hash:ip', family: 'inet', members: [] })).toBe('  set KRT-NP-E { type ipv4_addr; }');
  });

  it('a family table replaced whole: created, deleted and declared in one input, base chains hooked at input, forward and output', () => {
    const r = renderFirewall({
      pods: [
        {
          namespace: 'x',
          name: 'a',
          ips: ['10.244.1.7', 'fd00::7'],
          ingress: [
            { policy: 'x/p', peers: { ips: ['10.244.2.7'], cidrs: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] }, ports: 'any' },
          ],
        },
      ],
      serviceRanges: ['10.96.0.0/12'],
    });
    const text = nftRuleset(r, 4);
    const lines = text.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'table ip kube-router-filter-ipv4 {}',
      'delete table ip kube-router-filter-ipv4',
      'table ip kube-router-filter-ipv4 {',
    ]);
    for (const hook of ['input', 'forward', 'output'])
      expect(text).toContain(`  chain ${hook} {\n    type filter hook ${hook} priority filter; policy accept;\n`);
    expect(text).toContain('    jump KUBE-ROUTER-TS-NP-FORWARD\n');
    // Both IPv4 sets, no IPv6 one (the peers are IPv4), and a chain per declared chain.
    expect(lines.filter((l) => l.startsWith('  set '))).toHaveLength(2);
    for (const c of r.families[4].chains) expect(text).toContain(`  chain ${c} {`);
    expect(nftRuleset(r, 6)).toContain('table ip6 kube-router-filter-ipv6 {');
    expect(nftRuleset(r, 6)).not.toContain('  set ');
  });
});
