/**
 * The network policy firewall against the real kernel, inside a namespace: chains and sets
 * written (IPv4 and IPv6), read back with iptables-save and ipset; a second run changes nothing;
 * a pod gone takes its chain and its sets with it; cleanup leaves nothing of ours.
 */
import crypto from 'node:crypto';
import { Netns } from '../../lab/netns';
import { netnsCall, netnsReconcile } from '../helpers/in-netns';
import { TEST_NETNS_PREFIX } from '../helpers/topology';
import { podChain, renderFirewall, type PodPolicyPlan } from '../../src/dataplane/netpol';

jest.setTimeout(60000);

const A: PodPolicyPlan = {
  namespace: 'x',
  name: 'a',
  ips: ['10.244.1.5', 'fd00:1::5'],
  ingress: [
    {
      policy: 'x/p',
      peers: { ips: ['10.244.2.9', 'fd00:2::9'], cidrs: [{ cidr: '192.168.0.0/16', except: ['192.168.7.0/24'] }] },
      ports: [{ protocol: 'TCP', port: 80, endPort: 81 }],
    },
  ],
};
const B: PodPolicyPlan = { namespace: 'x', name: 'b', ips: ['10.244.1.6'], egress: [] };

describe('network policy firewall in a namespace', () => {
  let ns: Netns;
  beforeAll(async () => {
    ns = await Netns.create(`${TEST_NETNS_PREFIX}${crypto.randomBytes(3).toString('hex')}-fw`);
  });
  afterAll(() => ns.destroy());
  const sh = async (cmd: string, ...args: string[]): Promise<string> => (await ns.exec(cmd, args)).stdout;
  const apply = (pods: PodPolicyPlan[]) =>
    netnsReconcile(ns, 'firewall', {
      families: [4, 6],
      render: renderFirewall({
        pods,
        serviceRanges: ['10.96.0.0/12'],
        nodePortRange: '30000:32767',
        vipRanges: ['198.51.100.0/24', '2001:db8:1::/64'],
      }),
      forwardJump: true,
    });

  it('writes both families and the sets the rules name; the same plan again changes nothing', async () => {
    const r = await apply([A, B]);
    expect(r.written).toBe(true);
    const v4 = await sh('iptables-save', '-t', 'filter');
    for (const jump of ['INPUT', 'OUTPUT', 'FORWARD'])
      expect(v4).toContain(`-A ${jump} -m comment --comment kube-router-ts -j KUBE-ROUTER-TS-NP-${jump}`);
    const chainA = podChain('I', 'x', 'a');
    expect(v4).toContain(`-A KUBE-ROUTER-TS-NP-FORWARD -d 10.244.1.5/32 -m comment --comment "kube-router-ts to x/a" -j ${chainA}`);
    expect(v4).toMatch(new RegExp(`-A ${chainA} -m comment --comment "kube-router-ts x/p" -j (KUBE-ROUTER-TS-NP-P-\\w+)`));
    const policyChain = new RegExp(`-A ${chainA} -m comment --comment "kube-router-ts x/p" -j (KUBE-ROUTER-TS-NP-P-\\w+)`).exec(v4)![1]!;
    expect(v4).toMatch(
      new RegExp(`-A ${policyChain} -p tcp -m set --match-set KRT-NP-\\w+ src -m tcp --dport 80:81 .*-j MARK --set-xmark 0x10000/0x10000`),
    );
    expect(v4).toContain(
      `-A ${podChain('E', 'x', 'b')} -m mark ! --mark 0x10000/0x10000 -m comment --comment "kube-router-ts egress of x/b: not allowed" -j REJECT`,
    );
    const v6 = await sh('ip6tables-save', '-t', 'filter');
    expect(v6).toContain(`-A KUBE-ROUTER-TS-NP-OUTPUT -d fd00:1::5/128 -m comment --comment "kube-router-ts to x/a" -j ${chainA}`);
    expect(v6).not.toContain(podChain('E', 'x', 'b')); // b has no IPv6 address
    const sets = await sh('ipset', 'save');
    expect(sets).toMatch(/add KRT-NP-\w+ 192\.168\.7\.0\/24 timeout 0 nomatch/);
    expect(sets).toMatch(/add KRT-NP-\w+ fd00:2::9 timeout 0/);
    expect(r.lines!.filter((l) => l.startsWith('4 ')).length).toBeGreaterThan(10);

    // (Each call here is a new process, so it writes again: the same rules, no set touched.)
    const again = await apply([A, B]);
    expect(again.lines).toEqual(r.lines);
    expect(again.setsChanged).toEqual([]);
  });

  it("a pod gone takes its chain and its sets; others' chains and sets stay untouched", async () => {
    await ns.exec('iptables', ['-N', 'SOMEONE-ELSE']);
    await ns.exec('ipset', ['create', 'someone-else', 'hash:ip']);
    await apply([B]);
    const v4 = await sh('iptables-save', '-t', 'filter');
    expect(v4).not.toContain(podChain('I', 'x', 'a'));
    expect(v4).toContain(podChain('E', 'x', 'b'));
    expect(v4).toContain(':SOMEONE-ELSE');
    expect((await sh('ipset', 'list', '-n')).split('\n').filter(Boolean)).toEqual(['someone-else']);
  });

  it('cleanup removes the jumps, chains and sets of the firewall, nothing else', async () => {
    await apply([A, B]);
    const removed = await netnsCall(ns, 'cleanup', 'firewall');
    expect(removed.join(' ')).toMatch(/firewall chains: 6 .*firewall chains \(IPv6\): 5 .*firewall ipsets: \d/);
    expect(await sh('iptables-save', '-t', 'filter')).not.toContain('KUBE-ROUTER-TS-NP');
    expect(await sh('ip6tables-save', '-t', 'filter')).not.toContain('KUBE-ROUTER-TS-NP');
    expect(await sh('iptables-save', '-t', 'filter')).toContain(':SOMEONE-ELSE');
    expect((await sh('ipset', 'list', '-n')).trim()).toBe('someone-else');
  });
});

describe('network policy firewall in nftables (--use-nftables-for-netpol), in a namespace', () => {
  let ns: Netns;
  beforeAll(async () => {
    ns = await Netns.create(`${TEST_NETNS_PREFIX}${crypto.randomBytes(3).toString('hex')}-nf`);
  });
  afterAll(() => ns.destroy());
  const sh = async (cmd: string, ...args: string[]): Promise<string> => (await ns.exec(cmd, args)).stdout;
  const apply = (pods: PodPolicyPlan[], nftables = true) =>
    netnsReconcile(ns, 'firewall', {
      families: [4, 6],
      render: renderFirewall({ pods, serviceRanges: ['10.96.0.0/12'], nodePortRange: '30000:32767' }),
      forwardJump: true,
      nftables,
    });
  const table = (f: 'ip' | 'ip6') => sh('nft', 'list', 'table', f, f === 'ip' ? 'kube-router-filter-ipv4' : 'kube-router-filter-ipv6');
  /** Whether an address is in a set of the IPv4 table. */
  const inSet = async (set: string, ip: string): Promise<boolean> =>
    (await ns.exec('nft', ['get', 'element', 'ip', 'kube-router-filter-ipv4', set, `{ ${ip} }`], { allowFail: true })).code === 0;

  it("writes one table per family, hooked at input, forward and output, with the iptables firewall's chains and sets; nothing in iptables or ipset; the same plan again changes nothing", async () => {
    const r = await apply([A, B]);
    expect(r.written).toBe(true);
    const v4 = await table('ip');
    for (const hook of ['input', 'forward', 'output']) expect(v4).toContain(`type filter hook ${hook} priority filter; policy accept;`);
    const chainA = podChain('I', 'x', 'a');
    expect(v4).toContain(`ip daddr 10.244.1.5 jump ${chainA} comment "kube-router-ts to x/a"`);
    expect(v4).toContain(`meta mark & 0x00010000 != 0x00010000 reject comment "kube-router-ts egress of x/b: not allowed"`);
    expect(v4).toMatch(/ip saddr @KRT-NP-\w+ tcp dport 80-81 meta mark set meta mark \| 0x00010000 comment "kube-router-ts x\/p"/);
    // The ipBlock: 192.168.0.0/16 except 192.168.7.0/24, as ranges.
    const block = /set (KRT-NP-\w+) \{\s+type ipv4_addr\s+flags interval\s+elements = \{ 192\.168\./.exec(v4)![1]!;
    expect(await inSet(block, '192.168.6.255')).toBe(true);
    expect(await inSet(block, '192.168.7.1')).toBe(false);
    expect(await inSet(block, '192.168.8.0')).toBe(true);
    const v6 = await table('ip6');
    expect(v6).toContain(`ip6 daddr fd00:1::5 jump ${chainA} comment "kube-router-ts to x/a"`);
    expect(v6).not.toContain(podChain('E', 'x', 'b'));
    expect(await sh('iptables-save', '-t', 'filter')).not.toContain('KUBE-ROUTER-TS-NP');
    expect(await sh('ipset', 'list', '-n')).not.toContain('KRT-NP-');
    const again = await apply([A, B]);
    expect(again.lines).toEqual(r.lines);
  });

  it('switching backends removes the other one: iptables chains and sets go when nftables takes over, and the tables when iptables does', async () => {
    await apply([A, B], false);
    expect(await sh('iptables-save', '-t', 'filter')).toContain('KUBE-ROUTER-TS-NP');
    expect((await ns.exec('nft', ['list', 'tables'])).stdout).not.toContain('kube-router-filter');
    await apply([A, B]);
    expect(await sh('iptables-save', '-t', 'filter')).not.toContain('KUBE-ROUTER-TS-NP');
    expect(await sh('ip6tables-save', '-t', 'filter')).not.toContain('KUBE-ROUTER-TS-NP');
    expect(await sh('ipset', 'list', '-n')).not.toContain('KRT-NP-');
    expect((await ns.exec('nft', ['list', 'tables'])).stdout).toContain('table ip kube-router-filter-ipv4');
  });

  it('a family not run loses its table; cleanup removes both tables and nothing else', async () => {
    await ns.exec('nft', ['add', 'table', 'ip', 'someone-else']);
    await netnsReconcile(ns, 'firewall', {
      families: [4],
      render: renderFirewall({ pods: [A], serviceRanges: [] }),
      forwardJump: true,
      nftables: true,
    });
    expect((await ns.exec('nft', ['list', 'tables'])).stdout).not.toContain('kube-router-filter-ipv6');
    await apply([A, B]);
    const removed = await netnsCall(ns, 'cleanup', 'firewall');
    expect(removed).toEqual(['nftables table ip kube-router-filter-ipv4', 'nftables table ip6 kube-router-filter-ipv6']);
    // (iptables-nft's own tables may be there from the other tests: not ours.)
    const tables = (await ns.exec('nft', ['list', 'tables'])).stdout;
    expect(tables).not.toContain('kube-router-filter');
    expect(tables).toContain('table ip someone-else');
  });
});
