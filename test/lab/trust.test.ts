/**
 * The lab tried as a careless top-of-rack router, a heavy-handed operator and an outage would:
 * - the ToR announces the nodes' own subnet, a node IP, a default route, a more specific of a
 *   pod CIDR and a prefix in the service range: nothing of the node is taken over, each refusal
 *   is logged once, shown in `bgp rib` and counted;
 * - an operator deletes or changes what the agent set up (routes, kube-bridge, its address,
 *   ipsets, iptables chains and jumps, ip_forward): each is back within 2 s (table printed);
 * - the API server hangs: a restarted agent still serves /healthz (saying why it is not ready),
 *   metrics and its admin socket; the API server is down for 60 s and an agent restarts
 *   meanwhile: it comes back from the state it saved, nothing is lost, pods reach each other.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Lab } from '../../lab/cluster';
import type { LabNode } from '../../lab/layout';
import { HEALTH_PORT, METRICS_PORT } from '../../lab/layout';
import { pingMatrix } from '../../lab/status';
import { until, sleep } from '../../lab/wait';
import { adminRequest } from '../../bgp/admin/client';
import type { PathView } from '../../bgp/admin/views';
import { labDown, labUp } from '../helpers/lab';
import { TEST_NETNS_PREFIX } from '../helpers/topology';
import { ExabgpDaemon } from '../../lab/peers/exabgp';

jest.setTimeout(180000);

const PREFIX = `${TEST_NETNS_PREFIX}trust-`;
const DIR = '/run/kube-router-ts/test-trust';

describe('lab: trust', () => {
  let lab: Lab;
  const report: string[] = [];

  beforeAll(async () => {
    // Graceful restart on (as our manifests run it): an agent that dies keeps its routes at its peers.
    lab = (await labUp(DIR, PREFIX, ['--nodes', '3', '--tor', '--prometheus=false', '--agent-args=--bgp-graceful-restart'])).lab;
  });
  afterAll(async () => {
    if (report.length) process.stdout.write(`\n${report.join('\n')}\n`);
    await labDown(DIR, PREFIX);
  });

  const node = (i: number): LabNode => lab.state.nodes[i]!;
  const sh = async (n: LabNode, cmd: string, ...args: string[]): Promise<string> =>
    (await lab.netns(n.netns).exec(cmd, args, { allowFail: true })).stdout;
  const rib = (n: LabNode): Promise<PathView[]> => adminRequest<PathView[]>(n.adminSocket, 'GET', '/rib');
  const metrics = (n: LabNode): Promise<string> => sh(n, 'curl', '-s', '-m', '2', `http://${n.ip}:${METRICS_PORT}/metrics`);
  const agentLog = (n: LabNode): string => fs.readFileSync(path.join(n.dir, 'agent.log'), 'utf8');
  const allPingsOk = async (): Promise<void> => expect((await pingMatrix(lab)).filter((p) => !p.ok)).toEqual([]);

  it('sessions between nodes carry a prefix limit (max(1000, 4 x nodes)); the ToR session none unless asked', async () => {
    const ns = await lab.neighbors(node(0));
    expect(ns.filter((n) => n.address !== '10.0.0.254').map((n) => n.maxPrefixes)).toEqual([1000, 1000]);
    expect(ns.find((n) => n.address === '10.0.0.254')?.maxPrefixes).toBeUndefined();
    expect(await metrics(node(0))).toMatch(/^kube_router_bgp_peer_max_prefixes\{peer="10\.0\.0\.12",type="internal"\} 1000$/m);
  });

  describe('a careless ToR cannot take over the nodes (kube-router #584)', () => {
    const torConf = (): string => path.join(lab.state.tor!.dir, 'bird.conf');
    let original = '';
    const HIJACK = ['0.0.0.0/0', '10.0.0.0/24', '10.0.0.11/32', '10.244.1.128/25', '10.96.5.0/24'];

    beforeAll(async () => {
      original = fs.readFileSync(torConf(), 'utf8');
      const statics = HIJACK.map((p) => `  route ${p} blackhole;`).join('\n');
      fs.writeFileSync(torConf(), original.replace('protocol static s4 { ipv4;\n', `protocol static s4 { ipv4;\n${statics}\n`));
      expect(await lab.birdc('configure')).toMatch(/Reconfigured/);
    });

    it('node1 keeps its default route, its connected subnet and its pod CIDR; none of them gets a route of ours', async () => {
      const n1 = node(0);
      await until(
        async () => (await rib(n1)).filter((p) => p.source === '10.0.0.254').length >= HIJACK.length,
        30000,
        'the ToR routes in node1 RIB',
      );
      await sleep(1500); // a route sync or two
      expect((await sh(n1, 'ip', 'route', 'show', 'default')).trim()).toBe('default via 10.0.0.254 dev eth0');
      expect((await sh(n1, 'ip', 'route', 'show', '10.0.0.0/24')).trim()).toBe(
        '10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.11',
      );
      const ours = await sh(n1, 'ip', 'route', 'show', 'proto', '44');
      for (const p of HIJACK) expect(ours).not.toContain(p === '0.0.0.0/0' ? 'default' : p);
      expect(ours.trim().split('\n')).toHaveLength(2); // the other two nodes' pod CIDRs
      await allPingsOk();
    });

    it('`bgp rib` shows each refusal with its reason; the metric counts them', async () => {
      const n1 = node(0);
      const from = (prefix: string) => rib(n1).then((r) => r.find((p) => p.prefix === prefix && p.source === '10.0.0.254'));
      expect(await from('0.0.0.0/0')).toMatchObject({
        best: false,
        accepted: false,
        rejectReason: 'rejected by import policy: default route (accepted only with --bgp-accept-default-route)',
      });
      expect((await from('10.0.0.0/24'))?.fib).toEqual({
        installed: false,
        reason: "inside 10.0.0.0/24, a subnet on this node's interfaces",
      });
      expect((await from('10.0.0.11/32'))?.fib).toEqual({
        installed: false,
        reason: "inside 10.0.0.0/24, a subnet on this node's interfaces",
      });
      expect((await from('10.244.1.128/25'))?.fib).toEqual({ installed: false, reason: "inside this node's pod CIDR 10.244.1.0/24" });
      expect((await from('10.96.5.0/24'))?.fib).toEqual({ installed: false, reason: 'inside the service cluster IP range 10.96.0.0/12' });
      const m = await metrics(n1);
      expect(m).toMatch(/^kube_router_learned_routes_not_installed\{reason="own-prefix"\} 4$/m);
      expect(m).toMatch(/^kube_router_learned_routes_not_installed\{reason="default-route"\} 1$/m);
      // node2 is not inside 10.244.1.0/24's owner: it refuses the rest, not the more specific of node1's pod CIDR.
      expect((await rib(node(1))).find((p) => p.prefix === '10.96.5.0/24')?.fib).toMatchObject({ installed: false });
    });

    it('each refusal is logged once per prefix and peer, however many syncs pass', async () => {
      await sleep(2000);
      const log = agentLog(node(0));
      for (const p of HIJACK.slice(1))
        expect(log.split('\n').filter((l) => l.includes('learned route not installed') && l.includes(`"prefix":"${p}"`))).toHaveLength(1);
      expect(log.split('\n').filter((l) => l.includes('refusing a default route from this peer'))).toHaveLength(1);
    });

    it('withdrawn by the ToR: nothing of the node goes with them', async () => {
      fs.writeFileSync(torConf(), original);
      expect(await lab.birdc('configure')).toMatch(/Reconfigured/);
      const n1 = node(0);
      await until(
        async () => !(await rib(n1)).some((p) => p.source === '10.0.0.254' && HIJACK.includes(p.prefix)),
        30000,
        'the ToR routes withdrawn',
      );
      expect((await sh(n1, 'ip', 'route', 'show', 'default')).trim()).toBe('default via 10.0.0.254 dev eth0');
      expect((await sh(n1, 'ip', 'route', 'show', '10.0.0.0/24')).trim()).toBe(
        '10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.11',
      );
      // The RIB changes first; the metric follows at the route sync that the withdrawal triggers.
      await until(
        async () => /^kube_router_learned_routes_not_installed\{reason="own-prefix"\} 0$/m.test(await metrics(n1)),
        10000,
        'own-prefix refusals back to 0 after the route sync',
      );
      await allPingsOk();
    });
  });

  describe('a route the kernel refuses', () => {
    it('is reported per route and retried, and fails neither the routes loop nor /healthz', async () => {
      const n1 = node(0);
      // A neighbour of node1 only (kube-router.io/peers) announces a prefix via a next hop on a
      // subnet whose link is down: the plan installs it, the kernel says "invalid gateway".
      const host = await lab.addHost('edge', ['10.0.0.60/24']);
      const dir = path.join(DIR, 'edge');
      fs.mkdirSync(dir, { recursive: true });
      const edge = await ExabgpDaemon.start({
        ns: host,
        dir,
        asn: 65060,
        address: '10.0.0.60',
        address6: 'fd00::60',
        neighbor: { address: n1.ip, asn: 64512 },
      });
      try {
        await lab
          .netns(n1.netns)
          .exec('sh', ['-c', 'ip link add vdown0 type veth peer name vdown1 && ip addr add 192.168.77.1/24 dev vdown0']);
        await lab.api.mergePatch(`/api/v1/nodes/${n1.name}`, {
          metadata: { annotations: { 'kube-router.io/peers': '- remoteip: 10.0.0.60\n  remoteasn: 65060\n' } },
        });
        await until(() => edge.established(), 30000, 'node1 peered with the edge host');
        const routesTask = async () => (await lab.agentStatus(n1)).tasks?.find((t) => t.name === 'routes');
        const before = await routesTask();
        await edge.announceVia('10.77.0.0/24', '192.168.77.2');
        await until(
          async () => ((await lab.agentStatus(n1)).notInstalled ?? []).some((r) => r.prefix === '10.77.0.0/24'),
          20000,
          'the refusal reported',
        );
        const status = await lab.agentStatus(n1);
        expect(status.notInstalled?.find((r) => r.prefix === '10.77.0.0/24')?.reason).toMatch(
          /^the kernel refused it: .*(invalid gateway|EINVAL|ENETUNREACH|-22|-101)/i,
        );
        expect((await rib(n1)).find((p) => p.prefix === '10.77.0.0/24')?.fib).toMatchObject({ installed: false });
        expect(await metrics(n1)).toMatch(/^kube_router_learned_routes_not_installed\{reason="kernel-error"\} 1$/m);
        // Retried (every 10 s) without counting as a failed run.
        await sleep(11000);
        const after = await routesTask();
        expect(after!.errors).toBe(before!.errors);
        expect(after!.lastSuccessAt!).toBeGreaterThan(before!.lastSuccessAt!);
        expect((await lab.agentStatus(n1)).health?.healthy).toBe(true);
        // Once the link is up the next try installs it.
        await lab.netns(n1.netns).exec('ip', ['link', 'set', 'vdown0', 'up']);
        await lab.netns(n1.netns).exec('ip', ['link', 'set', 'vdown1', 'up']);
        await until(
          async () => (await sh(n1, 'ip', 'route', 'show', '10.77.0.0/24')).includes('via 192.168.77.2'),
          20000,
          'the route installed once it can be',
        );
      } finally {
        await edge.stop();
        await lab.api.mergePatch(`/api/v1/nodes/${n1.name}`, { metadata: { annotations: { 'kube-router.io/peers': null } } });
        await lab.netns(n1.netns).exec('ip', ['link', 'del', 'vdown0'], { allowFail: true });
        await host.destroy();
      }
      await until(
        async () => !(await sh(n1, 'ip', 'route', 'show', '10.77.0.0/24')).includes('via'),
        20000,
        'the route gone with its peer',
      );
    });
  });

  describe('self-heal: what someone else changes is back within 2 s', () => {
    const rows: string[] = [];
    afterAll(() => {
      report.push(
        'self-heal on a lab node (time from the change until the kernel holds our state again):',
        '| object | broken by | restored in |',
        '|---|---|---|',
        ...rows,
      );
    });

    const cases: [string, string, (n: LabNode) => Promise<unknown>, (n: LabNode) => Promise<boolean>][] = [
      [
        'learned route',
        'ip route del <node2 pod CIDR>',
        (n) => sh(n, 'ip', 'route', 'del', node(1).podCidr),
        async (n) => (await sh(n, 'ip', 'route', 'show', node(1).podCidr)).includes('proto 44'),
      ],
      [
        'kube-bridge',
        'ip link set kube-bridge down',
        (n) => sh(n, 'ip', 'link', 'set', 'kube-bridge', 'down'),
        async (n) => /state UP|,UP/.test(await sh(n, 'ip', 'link', 'show', 'kube-bridge')),
      ],
      [
        'kube-bridge address',
        'ip addr del <gateway> dev kube-bridge',
        (n) => sh(n, 'ip', 'addr', 'del', `${n.podCidr.replace(/\.0\/24$/, '.1')}/24`, 'dev', 'kube-bridge'),
        async (n) => (await sh(n, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'kube-bridge')).includes(n.podCidr.replace(/\.0\/24$/, '.1/24')),
      ],
      [
        'ipset kube-router-pod-subnets',
        'ipset flush',
        (n) => sh(n, 'ipset', 'flush', 'kube-router-pod-subnets'),
        async (n) => (await sh(n, 'ipset', 'list', 'kube-router-pod-subnets')).includes('Number of entries: 3'),
      ],
      [
        'ipset kube-router-node-ips',
        'ipset add (a stranger)',
        (n) => sh(n, 'ipset', 'add', 'kube-router-node-ips', '10.0.0.99'),
        async (n) => !(await sh(n, 'ipset', 'list', 'kube-router-node-ips')).includes('10.0.0.99'),
      ],
      [
        'nat POSTROUTING jump',
        'iptables -t nat -D POSTROUTING ...',
        (n) =>
          sh(
            n,
            'iptables',
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
          ),
        async (n) =>
          (await sh(n, 'iptables-save', '-t', 'nat')).includes(
            '-A POSTROUTING -m comment --comment kube-router-ts -j KUBE-ROUTER-TS-POSTROUTING',
          ),
      ],
      [
        'MASQUERADE chain',
        'iptables -t nat -F KUBE-ROUTER-TS-POSTROUTING',
        (n) => sh(n, 'iptables', '-t', 'nat', '-F', 'KUBE-ROUTER-TS-POSTROUTING'),
        async (n) => (await sh(n, 'iptables-save', '-t', 'nat')).includes('-j MASQUERADE --random-fully'),
      ],
      [
        'FORWARD jump',
        'iptables -D FORWARD ...',
        (n) => sh(n, 'iptables', '-D', 'FORWARD', '-m', 'comment', '--comment', 'kube-router-ts', '-j', 'KUBE-ROUTER-TS-FORWARD'),
        async (n) =>
          (await sh(n, 'iptables-save', '-t', 'filter')).includes(
            '-A FORWARD -m comment --comment kube-router-ts -j KUBE-ROUTER-TS-FORWARD',
          ),
      ],
      [
        'net.ipv4.ip_forward',
        'sysctl -w net.ipv4.ip_forward=0',
        (n) => sh(n, 'sysctl', '-qw', 'net.ipv4.ip_forward=0'),
        async (n) => (await sh(n, 'sysctl', '-n', 'net.ipv4.ip_forward')).trim() === '1',
      ],
    ];

    it.each(cases)('%s (%s)', async (what, how, breakIt, restored) => {
      const n = node(0);
      expect(await restored(n)).toBe(true);
      await breakIt(n);
      const t0 = Date.now();
      let ms = -1;
      while (Date.now() - t0 < 10000) {
        if (await restored(n)) {
          ms = Date.now() - t0;
          break;
        }
        await sleep(20);
      }
      rows.push(`| ${what} | \`${how}\` | ${ms < 0 ? 'not within 10 s' : `${ms} ms`} |`);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(2000);
    });

    it('pods still reach each other, and the checks cost little CPU while idle', async () => {
      await allPingsOk();
      const n = node(0);
      const pid = Number(fs.readFileSync(path.join(n.dir, 'agent.pid'), 'utf8'));
      // CPU of the agent (utime + stime) and of its children with theirs (the probe shell and the
      // commands it runs: utime + stime + cutime + cstime), in clock ticks.
      const stat = (p: number | string): number[] => fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ').map(Number);
      const children = (): string[] =>
        fs
          .readdirSync(`/proc/${pid}/task`)
          .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
      const ticks = (): [number, number] => {
        const self = stat(pid);
        const kids = children().reduce((sum, c) => {
          const f = stat(c);
          return sum + f[11]! + f[12]! + f[13]! + f[14]!;
        }, self[13]! + self[14]!);
        return [self[11]! + self[12]!, kids];
      };
      const seconds = 20;
      const [self0, kids0] = ticks();
      await sleep(seconds * 1000);
      const [self1, kids1] = ticks();
      const pct = (t: number): string => `${((t / 100 / seconds) * 100).toFixed(1)} %`;
      report.push(
        `idle agent CPU with the once-a-second drift checks, over ${seconds} s: ${pct(self1 - self0)}` +
          ` of one core in the agent, ${pct(kids1 - kids0)} in its probe shell and the commands it runs (ipset save)`,
      );
      expect((self1 - self0 + kids1 - kids0) / 100 / seconds).toBeLessThan(0.1);
    });
  });

  describe('API server faults', () => {
    it('the API server hangs: a restarted agent serves /healthz (saying why), metrics and its admin socket', async () => {
      const n3 = node(2);
      await lab.api.lab('hang');
      try {
        await lab.stopAgent(n3);
        fs.rmSync(path.join(n3.dir, 'state.json'), { force: true });
        lab.startAgent(n3);
        const health = async (): Promise<string> =>
          sh(n3, 'curl', '-s', '-m', '2', '-w', ' %{http_code}', `http://${n3.ip}:${HEALTH_PORT}/healthz`);
        await until(async () => / 500$/.test(await health()), 15000, 'node3 /healthz to answer');
        expect(await health()).toMatch(/not ready: waiting for the API server to list Nodes/);
        expect(await metrics(n3)).toMatch(/kube_router_informer_synced\{resource="nodes"\} 0/);
        const status = await lab.agentStatus(n3);
        expect(status.ready).toBe(false);
      } finally {
        await lab.api.lab('unhang');
      }
      await lab.waitConverged(60000);
      await allPingsOk();
    });

    it('down for 60 s, an agent killed and restarted meanwhile comes back from its saved state: no route lost anywhere, pods reach each other', async () => {
      const n2 = node(1);
      const routesOf = async (n: LabNode): Promise<string[]> =>
        (await sh(n, 'ip', 'route', 'show', 'proto', '44')).trim().split('\n').filter(Boolean).sort();
      const before = await Promise.all(lab.state.nodes.map(routesOf));
      await lab.api.lab('down');
      const t0 = Date.now();
      // Every node's kernel table, every 100 ms: a sample missing any route counts.
      let lost = 0;
      const sampler = setInterval(() => {
        void Promise.all(lab.state.nodes.map(routesOf)).then((now) => {
          if (now.some((r, i) => before[i]!.some((x) => !r.includes(x)))) lost++;
        });
      }, 100);
      try {
        // Killed (a crash, an OOM kill): its sessions end without a NOTIFICATION, so the other
        // nodes keep its routes for the graceful-restart time; it must be back before that.
        await lab.stopAgent(n2, 'SIGKILL');
        lab.startAgent(n2);
        await until(
          async () => (await lab.agentStatus(n2).catch(() => undefined))?.stateSource === 'saved',
          20000,
          'node2 to run from its saved state',
        );
        await until(
          async () => (await lab.neighbors(n2).catch(() => [])).filter((x) => x.state === 'Established').length === 3,
          30000,
          'node2 peered again',
        );
        await until(
          async () => JSON.stringify(await Promise.all(lab.state.nodes.map(routesOf))) === JSON.stringify(before),
          30000,
          'every node holding every route again',
        );
        await allPingsOk();
        const back = Date.now() - t0;
        report.push(
          `API server down, node2 killed and restarted: back from its saved state (peered, all routes everywhere, pings ok)` +
            ` in ${back} ms; samples of the 3 nodes' kernel tables missing a route: ${lost}`,
        );
        expect(lost).toBe(0);
        await sleep(Math.max(0, 60000 - (Date.now() - t0)));
        expect(JSON.stringify(await Promise.all(lab.state.nodes.map(routesOf)))).toBe(JSON.stringify(before));
        await allPingsOk();
      } finally {
        clearInterval(sampler);
        await lab.api.lab('up');
      }
      await until(async () => (await lab.agentStatus(n2)).stateSource === 'api', 60000, 'node2 back on the live state');
      await lab.waitConverged(60000);
    });
  });
});
