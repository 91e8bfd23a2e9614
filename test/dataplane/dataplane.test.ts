/**
 * The data-path reconcilers against the real kernel, inside a namespace, read back with ip,
 * ipset and iptables-save. Every reconcile runs twice: the second must change nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Netns } from '../../lab/netns';
import { netnsCall, netnsReconcile } from '../helpers/in-netns';
import type { DesiredRoute } from '../../src/dataplane/routes';
import type { DesiredRule } from '../../src/dataplane/rules';
import type { IpSetSpec } from '../../src/dataplane/ipsets';
import { TEST_NETNS_PREFIX } from '../helpers/topology';
import { renderCniConfig, reconcileCniConfig } from '../../src/dataplane/cni';
import { gatewayOf } from '../../src/dataplane/bridge';
import crypto from 'node:crypto';

jest.setTimeout(60000);

describe('data path reconcilers in a namespace', () => {
  let ns: Netns;
  beforeAll(async () => {
    ns = await Netns.create(`${TEST_NETNS_PREFIX}${crypto.randomBytes(3).toString('hex')}-dp`);
    // A veth pair inside the namespace stands in for the node's uplink.
    await ns.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    await ns.ip('addr', 'add', '192.168.50.50/24', 'dev', 'eth0');
    await ns.ip('link', 'set', 'eth0', 'up');
    await ns.ip('link', 'set', 'eth1', 'up');
  });
  afterAll(() => ns.destroy());

  const sh = async (cmd: string, ...args: string[]): Promise<string> => (await ns.exec(cmd, args)).stdout;
  const reconcileRoutes = (routes: DesiredRoute[]) => netnsReconcile(ns, 'routes', { routes, prune: true });

  describe('routes', () => {
    it('installs the desired routes with our protocol number, and only changes what differs', async () => {
      const desired = [
        { dst: '10.233.65.0/24', gateway: '192.168.50.52' },
        { dst: '10.233.66.0/24', gateway: '192.168.50.51' },
      ];
      expect(await reconcileRoutes(desired)).toEqual({
        added: ['10.233.65.0/24', '10.233.66.0/24'],
        replaced: [],
        removed: [],
        failed: [],
        refused: [],
        installed: 2,
      });
      expect(await reconcileRoutes(desired)).toEqual({ added: [], replaced: [], removed: [], failed: [], refused: [], installed: 2 });
      expect(await sh('ip', 'route', 'show', 'proto', '44')).toBe(
        '10.233.65.0/24 via 192.168.50.52 dev eth0 \n10.233.66.0/24 via 192.168.50.51 dev eth0 \n',
      );
    });

    it('replaces a changed gateway and removes what is no longer wanted, leaving other routes alone', async () => {
      await ns.ip('route', 'add', '10.9.0.0/16', 'via', '192.168.50.1', 'proto', 'static');
      expect(await reconcileRoutes([{ dst: '10.233.65.0/24', gateway: '192.168.50.53' }])).toEqual({
        added: [],
        replaced: ['10.233.65.0/24'],
        removed: ['10.233.66.0/24'],
        failed: [],
        refused: [],
        installed: 1,
      });
      expect(await sh('ip', 'route', 'show', 'proto', '44')).toBe('10.233.65.0/24 via 192.168.50.53 dev eth0 \n');
      expect(await sh('ip', 'route', 'show', '10.9.0.0/16')).toMatch(/via 192.168.50.1 dev eth0 proto static/);
    });

    it('repairs drift: a route deleted behind its back comes back', async () => {
      await ns.ip('route', 'del', '10.233.65.0/24');
      expect(await reconcileRoutes([{ dst: '10.233.65.0/24', gateway: '192.168.50.53' }])).toMatchObject({ added: ['10.233.65.0/24'] });
      expect(await reconcileRoutes([])).toEqual({
        added: [],
        replaced: [],
        removed: ['10.233.65.0/24'],
        failed: [],
        refused: [],
        installed: 0,
      });
    });

    it('never replaces, shadows or deletes a route of another protocol (connected, static, DHCP)', async () => {
      await ns.ip('route', 'add', '10.8.0.0/16', 'via', '192.168.50.1', 'proto', 'static');
      await ns.ip('route', 'add', '10.7.0.0/16', 'via', '192.168.50.1', 'proto', 'dhcp', 'metric', '100');
      const r = await reconcileRoutes([
        { dst: '192.168.50.0/24', gateway: '192.168.50.9' }, // the connected subnet itself
        { dst: '10.8.0.0/16', gateway: '192.168.50.9' },
        { dst: '10.7.0.0/16', gateway: '192.168.50.9' }, // ours at metric 0 would win over DHCP's 100
        { dst: '10.233.80.0/24', gateway: '192.168.50.9' },
      ]);
      expect(r.added).toEqual(['10.233.80.0/24']);
      expect(r.refused).toEqual([
        { dst: '192.168.50.0/24', table: 254, reason: 'a kernel route to 192.168.50.0/24 exists' },
        { dst: '10.8.0.0/16', table: 254, reason: 'a static route to 10.8.0.0/16 exists' },
        { dst: '10.7.0.0/16', table: 254, reason: 'a dhcp route to 10.7.0.0/16 exists' },
      ]);
      expect(await sh('ip', 'route', 'show', '192.168.50.0/24')).toBe(
        '192.168.50.0/24 dev eth0 proto kernel scope link src 192.168.50.50 \n',
      );
      expect(await sh('ip', 'route', 'show', '10.8.0.0/16')).toBe('10.8.0.0/16 via 192.168.50.1 dev eth0 proto static \n');
      expect(await sh('ip', 'route', 'show', '10.7.0.0/16')).toBe('10.7.0.0/16 via 192.168.50.1 dev eth0 proto dhcp metric 100 \n');
      // Withdrawn: nothing of theirs goes with ours.
      expect(await reconcileRoutes([])).toMatchObject({ removed: ['10.233.80.0/24'], refused: [] });
      expect(await sh('ip', 'route', 'show', '192.168.50.0/24')).toMatch(/proto kernel/);
      expect(await sh('ip', 'route', 'show', '10.8.0.0/16')).toMatch(/proto static/);
      await ns.ip('route', 'del', '10.8.0.0/16');
      await ns.ip('route', 'del', '10.7.0.0/16');
    });

    it("takes over kube-router's leftover route (protocol 0x11) for a destination it routes, and leaves its others", async () => {
      await ns.ip('route', 'add', '10.233.90.0/24', 'via', '192.168.50.1', 'proto', '17');
      await ns.ip('route', 'add', '10.233.91.0/24', 'via', '192.168.50.1', 'proto', '17');
      expect(await reconcileRoutes([{ dst: '10.233.90.0/24', gateway: '192.168.50.9' }])).toMatchObject({
        added: ['10.233.90.0/24'],
        refused: [],
      });
      expect(await sh('ip', 'route', 'show', '10.233.90.0/24')).toBe('10.233.90.0/24 via 192.168.50.9 dev eth0 proto 44 \n');
      expect(await sh('ip', 'route', 'show', '10.233.91.0/24')).toBe('10.233.91.0/24 via 192.168.50.1 dev eth0 proto 17 \n');
      expect(await reconcileRoutes([])).toMatchObject({ removed: ['10.233.90.0/24'] });
      await ns.ip('route', 'del', '10.233.91.0/24');
    });

    it('a route the kernel refuses is reported and blocks none of the others', async () => {
      const r = await reconcileRoutes([
        { dst: '10.233.70.0/24', gateway: '172.31.99.1' }, // no interface reaches this gateway
        { dst: '10.233.71.0/24', gateway: '192.168.50.71' },
        { dst: '10.233.72.0/24', dev: 'tun-nowhere' },
      ]);
      expect(r.added).toEqual(['10.233.71.0/24']);
      expect(r.failed.map((f) => f.dst).sort()).toEqual(['10.233.70.0/24', '10.233.72.0/24']);
      expect(r.failed.find((f) => f.dst === '10.233.72.0/24')!.error).toBe('no interface tun-nowhere');
      expect(r.failed.find((f) => f.dst === '10.233.70.0/24')!.error).toMatch(/unreachable|ENETUNREACH|-101/i);
      expect(r.installed).toBe(1);
      expect(await sh('ip', 'route', 'show', 'proto', '44')).toBe('10.233.71.0/24 via 192.168.50.71 dev eth0 \n');
      expect(await reconcileRoutes([])).toMatchObject({ removed: ['10.233.71.0/24'], failed: [] });
    });

    it('sends hundreds of changes in batched requests, with each route its own result: refusals in several batches, IPv6, device and table routes', async () => {
      await ns.ip('-6', 'addr', 'add', 'fd00:50::50/64', 'dev', 'eth0', 'nodad');
      const desired: DesiredRoute[] = Array.from({ length: 700 }, (_, i) => ({
        dst: `10.234.${i >> 8}.${i & 255}/32`,
        gateway: '192.168.50.9',
      }));
      // Unreachable gateways, landing in the first, second and third batch of 256.
      const refused = ['10.235.1.0/24', '10.235.2.0/24', '10.235.3.0/24'];
      refused.forEach((dst, k) => desired.splice([10, 300, 690][k]!, 0, { dst, gateway: '172.31.99.1' }));
      desired.push(
        { dst: 'fd00:99::/64', gateway: 'fd00:50::9' },
        { dst: '10.236.0.0/24', dev: 'eth0' },
        { dst: '10.237.0.0/24', gateway: '192.168.50.9', table: 1000 },
      );
      const r = await reconcileRoutes(desired);
      expect(r.failed.map((f) => f.dst)).toEqual(refused);
      expect(r.failed.every((f) => /ENETUNREACH/.test(f.error))).toBe(true);
      expect(r.added).toHaveLength(703);
      expect(r.installed).toBe(703);
      const lines = async (...args: string[]) => (await sh('ip', ...args)).split('\n').filter(Boolean);
      expect(await lines('route', 'show', 'proto', '44')).toHaveLength(701);
      expect(await lines('route', 'show', '10.236.0.0/24')).toEqual(['10.236.0.0/24 dev eth0 proto 44 scope link ']);
      expect(await lines('-6', 'route', 'show', 'proto', '44')).toEqual(['fd00:99::/64 via fd00:50::9 dev eth0 metric 1024 pref medium']);
      expect(await lines('route', 'show', 'table', '1000', 'proto', '44')).toEqual(['10.237.0.0/24 via 192.168.50.9 dev eth0 ']);
      expect(await reconcileRoutes(desired)).toMatchObject({ added: [], replaced: [], removed: [], installed: 703 });
      const removed = await reconcileRoutes([]);
      expect(removed).toMatchObject({ failed: [], installed: 0 });
      expect(removed.removed).toHaveLength(703);
      expect(await lines('route', 'show', 'table', 'all', 'proto', '44')).toEqual([]);
      expect(await lines('-6', 'route', 'show', 'table', 'all', 'proto', '44')).toEqual([]);
    });

    it('survives a burst of 20,000 route events while busy (someone runs ip -batch): the netlink sockets are hardened', async () => {
      // Unhardened, the receive queue overruns and the netlink package aborts the process
      // ("terminate called after throwing an instance of 'Napi::Error'").
      const file = path.join(os.tmpdir(), `krt-burst-${crypto.randomBytes(3).toString('hex')}.batch`);
      const routes = Array.from({ length: 10000 }, (_, i) => `10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`);
      fs.writeFileSync(
        file,
        [...routes.map((r) => `route add ${r} via 192.168.50.9`), ...routes.map((r) => `route del ${r}`)].join('\n') + '\n',
      );
      try {
        const r = await netnsCall(ns, 'netlinkBurst', file);
        expect(r.unhardened).toEqual([null, null]);
        expect(r.routesAfter).toBeGreaterThan(0);
      } finally {
        fs.rmSync(file, { force: true });
      }
    });

    it('serves concurrent callers on one socket (the kernel allows one dump at a time per socket)', async () => {
      const counts = await netnsCall(ns, 'rtnlConcurrency', { dst: '10.233.99.0/24', gateway: '192.168.50.9' });
      expect(counts.every((n) => n > 0)).toBe(true);
      expect(await sh('ip', 'route', 'show', 'proto', '44')).toBe('10.233.99.0/24 via 192.168.50.9 dev eth0 \n');
      expect(await reconcileRoutes([])).toMatchObject({ removed: ['10.233.99.0/24'] });
    });
    it('counts the routes of every table and both families by protocol from one dump (the kernel_routes metric)', async () => {
      await ns.ip('route', 'add', '10.9.0.0/16', 'via', '192.168.50.1', 'proto', 'static', 'table', '100');
      await ns.ip('-6', 'addr', 'add', 'fd00:51::51/64', 'dev', 'eth0', 'nodad');
      await reconcileRoutes([{ dst: '10.233.98.0/24', gateway: '192.168.50.8' }]);
      try {
        const lines = async (...args: string[]) =>
          (await sh('ip', '-4', 'route', 'show', 'table', 'all', ...args)).split('\n').filter(Boolean).length +
          (await sh('ip', '-6', 'route', 'show', 'table', 'all', ...args)).split('\n').filter(Boolean).length;
        const counts = await netnsCall(ns, 'rtnlRouteCounts');
        expect(counts['44']).toBe(1);
        expect(counts['4']).toBe(await lines('proto', 'static'));
        expect(counts['2']).toBe(await lines('proto', 'kernel'));
        expect(counts['2']).toBeGreaterThan(3);
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(await lines());
      } finally {
        await ns.ip('route', 'del', '10.9.0.0/16', 'table', '100');
        await ns.ip('-6', 'addr', 'del', 'fd00:51::51/64', 'dev', 'eth0');
        await reconcileRoutes([]);
      }
    });
  });

  describe('policy rules', () => {
    const reconcile = (desired: DesiredRule[]) => netnsReconcile(ns, 'rules', desired);

    it('adds "from <pod CIDR> lookup 77" with our protocol, once, and removes only its own rules', async () => {
      await ns.ip('rule', 'add', 'from', '10.99.0.0/16', 'lookup', '99');
      const want: DesiredRule[] = [
        { family: 4, src: '10.233.66.0/24', table: 77 },
        { family: 6, src: 'fd00:233:66::/64', table: 77 },
      ];
      expect(await reconcile(want)).toEqual({ added: ['from 10.233.66.0/24 lookup 77', 'from fd00:233:66::/64 lookup 77'], removed: [] });
      expect(await reconcile(want)).toEqual({ added: [], removed: [] });
      expect(await sh('ip', 'rule', 'show')).toMatch(/from 10\.233\.66\.0\/24 lookup 77 proto 44/);
      expect(await sh('ip', '-6', 'rule', 'show')).toMatch(/from fd00:233:66::\/64 lookup 77 proto 44/);
      expect(await reconcile([])).toEqual({ added: [], removed: ['from 10.233.66.0/24 lookup 77', 'from fd00:233:66::/64 lookup 77'] });
      expect(await sh('ip', 'rule', 'show')).not.toMatch(/lookup 77/);
      expect(await sh('ip', 'rule', 'show')).toMatch(/from 10\.99\.0\.0\/16 lookup 99/);
    });
  });

  describe('kube-bridge', () => {
    const reconcile = (podCidrs: string[], mtu?: number) =>
      netnsReconcile(ns, 'kube-bridge', mtu === undefined ? { podCidrs } : { podCidrs, mtu });

    it('is a bridge, up, with the first address of the pod CIDR (seed 001: 10.233.66.1/24)', async () => {
      expect(gatewayOf('10.233.66.0/24')).toBe('10.233.66.1/24');
      expect(gatewayOf('fd00:1:2::/64')).toBe('fd00:1:2::1/64');
      expect(await reconcile(['10.233.66.0/24'], 1500)).toEqual({ created: true, addressesChanged: true });
      expect(await reconcile(['10.233.66.0/24'], 1500)).toEqual({ created: false, addressesChanged: false });
      const link = await sh('ip', '-d', 'link', 'show', 'kube-bridge');
      expect(link).toMatch(/<BROADCAST,MULTICAST,UP/);
      expect(link).toMatch(/mtu 1500/);
      expect(link).toMatch(/\n\s+bridge /);
      expect(await sh('ip', '-4', 'addr', 'show', 'kube-bridge')).toMatch(/inet 10\.233\.66\.1\/24 /);
    });

    it('follows a changed pod CIDR, and adds the IPv6 gateway when dual-stack', async () => {
      expect(await reconcile(['10.233.67.0/24', 'fd00:233:67::/64'])).toEqual({ created: false, addressesChanged: true });
      const addrs = await sh('ip', 'addr', 'show', 'kube-bridge');
      expect(addrs).toMatch(/inet 10\.233\.67\.1\/24/);
      expect(addrs).not.toMatch(/10\.233\.66\.1/);
      expect(addrs).toMatch(/inet6 fd00:233:67::1\/64/);
    });
  });

  describe('ipsets', () => {
    const reconcile = (pods: string[], nodes: string[]) =>
      netnsReconcile(ns, 'ipsets', [
        { name: 'kube-router-pod-subnets', type: 'hash:net', family: 'inet', members: pods },
        { name: 'kube-router-node-ips', type: 'hash:ip', family: 'inet', members: nodes },
      ]);

    it('hold exactly the members, shaped as seed 001 lists them', async () => {
      expect(
        await reconcile(['10.233.66.0/24', '10.233.68.0/24', '10.233.64.0/24'], ['192.168.50.51', '192.168.50.50', '192.168.50.52']),
      ).toEqual(['kube-router-pod-subnets', 'kube-router-node-ips']);
      expect(
        await reconcile(['10.233.66.0/24', '10.233.68.0/24', '10.233.64.0/24'], ['192.168.50.51', '192.168.50.50', '192.168.50.52']),
      ).toEqual([]);
      const pods = await sh('ipset', 'list', 'kube-router-pod-subnets');
      expect(pods).toMatch(/^Name: kube-router-pod-subnets\nType: hash:net\n/);
      expect(pods).toMatch(/Header: family inet hashsize 1024 maxelem 65536 timeout 0/);
      expect(pods).toMatch(/Number of entries: 3/);
      for (const m of ['10.233.66.0/24', '10.233.68.0/24', '10.233.64.0/24']) expect(pods).toContain(`${m} timeout 0`);
      const nodes = await sh('ipset', 'list', 'kube-router-node-ips');
      expect(nodes).toMatch(/Type: hash:ip/);
      for (const m of ['192.168.50.51', '192.168.50.50', '192.168.50.52']) expect(nodes).toContain(`${m} timeout 0`);
    });

    it('tells drift from one `ipset save`: a flushed set, a member added by hand, a set gone', async () => {
      const specs: IpSetSpec[] = [
        {
          name: 'kube-router-pod-subnets',
          type: 'hash:net',
          family: 'inet',
          members: ['10.233.66.0/24', '10.233.68.0/24', '10.233.64.0/24'],
        },
        { name: 'kube-router-node-ips', type: 'hash:ip', family: 'inet', members: ['192.168.50.51', '192.168.50.50', '192.168.50.52'] },
      ];
      const drifted = () => netnsCall(ns, 'ipsetsDrifted', specs);
      expect(await drifted()).toBe(false);
      await ns.exec('ipset', ['flush', 'kube-router-pod-subnets']);
      expect(await drifted()).toBe(true);
      await reconcile(['10.233.66.0/24', '10.233.68.0/24', '10.233.64.0/24'], ['192.168.50.51', '192.168.50.50', '192.168.50.52']);
      await ns.exec('ipset', ['add', 'kube-router-node-ips', '192.168.50.99']);
      expect(await drifted()).toBe(true);
      await reconcile(['10.233.66.0/24', '10.233.68.0/24', '10.233.64.0/24'], ['192.168.50.51', '192.168.50.50', '192.168.50.52']);
      expect(await drifted()).toBe(false);
    });

    it('changes membership in one swap, leaving no temporary sets', async () => {
      expect(await reconcile(['10.233.66.0/24', '10.233.64.0/24'], ['192.168.50.51', '192.168.50.50'])).toEqual([
        'kube-router-pod-subnets',
        'kube-router-node-ips',
      ]);
      const all = await sh('ipset', 'list', '-n');
      expect(all.trim().split('\n').sort()).toEqual(['kube-router-node-ips', 'kube-router-pod-subnets']);
      expect(await sh('ipset', 'list', 'kube-router-pod-subnets')).not.toContain('10.233.68.0/24');
    });
  });

  describe('iptables', () => {
    const reconcile = (podEgress: boolean) => netnsReconcile(ns, 'iptables', { families: [4], settings: { podEgress } });

    it("writes seed 001's MASQUERADE rule in our chain, jumped to once however often it runs", async () => {
      await reconcile(true);
      await reconcile(true);
      const nat = await sh('iptables-save', '-t', 'nat');
      expect(nat).toContain(
        '-A KUBE-ROUTER-TS-POSTROUTING -m set --match-set kube-router-pod-subnets src' +
          ' -m set ! --match-set kube-router-pod-subnets dst -m set ! --match-set kube-router-node-ips dst -j MASQUERADE --random-fully',
      );
      expect(nat.match(/-A POSTROUTING -m comment --comment kube-router-ts -j KUBE-ROUTER-TS-POSTROUTING/g)).toHaveLength(1);
      const filter = await sh('iptables-save', '-t', 'filter');
      expect(filter).toContain('-A KUBE-ROUTER-TS-FORWARD -m set --match-set kube-router-pod-subnets src -j ACCEPT');
      expect(filter.match(/-A FORWARD -m comment --comment kube-router-ts -j KUBE-ROUTER-TS-FORWARD/g)).toHaveLength(1);
    });

    it('reads back our lines, so a deleted jump or a flushed chain shows as a difference', async () => {
      const ours = () => netnsCall(ns, 'iptablesOurs', [4]);
      const baseline = await ours();
      expect(baseline).toContain('4 -A POSTROUTING -m comment --comment kube-router-ts -j KUBE-ROUTER-TS-POSTROUTING');
      await ns.exec('iptables', [
        '-t',
        'nat',
        '-D',
        'POSTROUTING',
        '-m',
        'comment',
        '--comment',
        'kube-router-ts',
        '-j',
        'KUBE-ROUTER-TS-POSTROUTING',
      ]);
      expect(await ours()).not.toEqual(baseline);
      await reconcile(true);
      expect(await ours()).toEqual(baseline);
      await ns.exec('iptables', ['-t', 'nat', '-F', 'KUBE-ROUTER-TS-POSTROUTING']);
      expect(await ours()).not.toEqual(baseline);
      await reconcile(true);
      expect(await ours()).toEqual(baseline);
    });

    it('--enable-pod-egress=false empties the chain; cleanup removes chains and jumps', async () => {
      await reconcile(false);
      expect(await sh('iptables-save', '-t', 'nat')).not.toContain('MASQUERADE');
      await netnsCall(ns, 'cleanup', 'service-iptables');
      const all = await sh('iptables-save');
      expect(all).not.toContain('KUBE-ROUTER-TS');
    });
  });

  it('sysctls: ip_forward on, once', async () => {
    await ns.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
    expect(await netnsReconcile(ns, 'sysctls', { 'net.ipv4.ip_forward': '1' })).toEqual(['net.ipv4.ip_forward']);
    expect(await netnsReconcile(ns, 'sysctls', { 'net.ipv4.ip_forward': '1' })).toEqual([]);
    expect((await sh('sysctl', '-n', 'net.ipv4.ip_forward')).trim()).toBe('1');
  });
});

describe('CNI config', () => {
  it('is a bridge + host-local + portmap list over the pod CIDRs, written only when it changes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-cni-'));
    try {
      const file = path.join(dir, 'net.d', '10-kuberouter.conflist');
      const s = { podCidrs: ['10.233.64.0/24'], mtu: 1500 };
      expect(reconcileCniConfig(file, s)).toBe(true);
      expect(reconcileCniConfig(file, s)).toBe(false);
      const conf = JSON.parse(fs.readFileSync(file, 'utf8'));
      expect(conf.plugins[0]).toMatchObject({
        type: 'bridge',
        bridge: 'kube-bridge',
        isDefaultGateway: true,
        hairpinMode: true,
        mtu: 1500,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.233.64.0/24' }]] },
      });
      expect(conf.plugins[1]).toMatchObject({ type: 'portmap' });
      expect(reconcileCniConfig(file, { ...s, podCidrs: ['10.233.64.0/24', 'fd00:1::/64'] })).toBe(true);
      expect(JSON.parse(renderCniConfig({ ...s, podCidrs: ['10.233.64.0/24', 'fd00:1::/64'] })).plugins[0].ipam.ranges).toHaveLength(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
