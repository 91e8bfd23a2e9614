/**
 * DataPlane over fakes (test/helpers/fake-kernel.ts): the order and content of what it writes,
 * idempotence (a second run writes nothing), and drift detection, without root. The same code
 * against the real kernel: test/dataplane/dataplane.test.ts and the lab.
 */
import { agentConfigOf } from '../helpers/agent-flags';
import { DataPlane } from '../../src/agent/dataplane';
import type { Rtnl } from '../../src/dataplane/rtnl';
import type { Probe } from '../../src/dataplane/probe';
import { silentLogger } from '../../bgp';
import { FakeKernel } from '../helpers/fake-kernel';

const config = (...argv: string[]) => agentConfigOf(argv);

const rtnl = {
  links: async () => [
    { index: 1, name: 'lo', mtu: 65536 },
    { index: 2, name: 'eth0', mtu: 9000 },
    { index: 3, name: 'kube-bridge', mtu: 1500 },
  ],
  addresses: async () => [
    { index: 1, cidr: '127.0.0.1/8' },
    { index: 2, cidr: '10.0.0.11/24' },
    { index: 2, cidr: 'fe80::1/64' },
    { index: 3, cidr: '10.244.1.1/24' },
  ],
  close: () => undefined,
} as unknown as Rtnl;

function dataplane(k: FakeKernel, ...flags: string[]): DataPlane {
  const probe = {
    run: (commands: string[][]) => Promise.all(commands.map(([cmd, ...args]) => k.run(cmd!, args, { allowFail: true }))),
    close: () => undefined,
  } as unknown as Probe;
  return new DataPlane(config('--enable-cni=false', ...flags), silentLogger, { rtnl, run: k.run, sysctls: k.sysctls, probe });
}

const desired = {
  podCidrs: ['10.244.1.0/24'],
  podSubnets: ['10.244.1.0/24', '10.244.2.0/24'],
  nodeIps: ['10.0.0.11', '10.0.0.12'],
  nodeIp: '10.0.0.11',
};

describe('DataPlane over a fake kernel', () => {
  it('setup: forwarding, then the ipsets, then the iptables chains that use them; a second run writes nothing', async () => {
    const k = new FakeKernel();
    const dp = dataplane(k);
    await dp.reconcileSetup(desired);
    expect(k.writes).toEqual([
      'sysctl net.ipv4.ip_forward=1',
      // New sets are created and filled directly: 2 creates and 4 members.
      'ipset restore (6 lines)',
      // The firewall's chain (on by default), which FORWARD's chain jumps to first.
      'iptables -N KUBE-ROUTER-TS-NP-FORWARD',
      'iptables-restore',
      'iptables -I POSTROUTING',
      'iptables -I FORWARD',
    ]);
    expect([...k.sets.get('kube-router-pod-subnets')!.members].sort()).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
    expect([...k.sets.get('kube-router-node-ips')!.members].sort()).toEqual(['10.0.0.11', '10.0.0.12']);
    expect(k.chains[4].get('nat KUBE-ROUTER-TS-POSTROUTING')).toHaveLength(1);
    expect(k.chains[4].get('nat POSTROUTING')).toEqual(['-m comment --comment kube-router-ts -j KUBE-ROUTER-TS-POSTROUTING']);

    k.writes.length = 0;
    await dp.reconcileSetup(desired);
    expect(k.writes).toEqual([]);
    expect(await dp.drifted()).toEqual(new Set());
  });

  it('a changed cluster rewrites only the set that changed', async () => {
    const k = new FakeKernel();
    const dp = dataplane(k);
    await dp.reconcileSetup(desired);
    k.writes.length = 0;
    await dp.reconcileSetup({ ...desired, podSubnets: [...desired.podSubnets, '10.244.3.0/24'] });
    expect(k.writes).toEqual(['ipset restore (8 lines)']);
  });

  it.each([
    ['an ipset flushed', (k: FakeKernel) => k.sets.get('kube-router-pod-subnets')!.members.clear()],
    ['a stranger in an ipset', (k: FakeKernel) => k.sets.get('kube-router-node-ips')!.members.add('192.0.2.66')],
    ['the nat jump deleted', (k: FakeKernel) => k.chains[4].set('nat POSTROUTING', [])],
    ['our chain flushed', (k: FakeKernel) => k.chains[4].set('nat KUBE-ROUTER-TS-POSTROUTING', [])],
    ['ip_forward turned off', (k: FakeKernel) => k.sysctlValues.set('net.ipv4.ip_forward', '0')],
  ])('drift: %s is found, and the setup loop puts it back', async (_what, tamper) => {
    const k = new FakeKernel();
    const dp = dataplane(k);
    await dp.reconcileSetup(desired);
    const before = { sets: k['ipsetSave'](), nat: k.chains[4].get('nat POSTROUTING'), forward: k.sysctlValues.get('net.ipv4.ip_forward') };
    tamper(k);
    expect(await dp.drifted()).toEqual(new Set(['setup']));
    await dp.reconcileSetup(desired);
    expect({ sets: k['ipsetSave'](), nat: k.chains[4].get('nat POSTROUTING'), forward: k.sysctlValues.get('net.ipv4.ip_forward') }).toEqual(
      before,
    );
    expect(await dp.drifted()).toEqual(new Set());
  });

  it('connected subnets: not loopback, not kube-bridge, not link-local; the uplink MTU is the node IP interface', async () => {
    expect(await dataplane(new FakeKernel()).interfaces('10.0.0.11')).toEqual({ connected: ['10.0.0.0/24'], uplinkMtu: 9000 });
  });
});
