/**
 * The lab as users run it (`kube-router-ts lab up --nodes 3 --tor`, `lab status`, `lab down`):
 * three nodes running the real agent against the embedded API server, a BIRD top-of-rack router,
 * two pods per node wired by the CNI reference plugins. Everything is read back from the kernel
 * (ip, ipset, iptables-save, conntrack, tcpdump) and from BIRD.
 */
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { Lab } from '../../lab/cluster';
import { LabNode, LabPod, EXTERNAL_HOST, STATIC_ANNOTATION } from '../../lab/layout';
import { pingMatrix, podPing, torRoutes } from '../../lab/status';
import { until, sleep } from '../../lab/wait';
import { labCli, labDown, labUp } from '../helpers/lab';
import { CLI } from '../helpers/our-speaker';
import { Bird } from '../../lab/peers/bird';
import { parseBirdRoutes } from '../../lab/peers/bird';
import { TEST_NETNS_PREFIX } from '../helpers/topology';
import { AGENT_ENV, AGENT_NODE_ARGS } from '../../src/agent/process-env';

jest.setTimeout(120000);

const PREFIX = `${TEST_NETNS_PREFIX}lab-`;
const DIR = '/run/kube-router-ts/test-lab';
const cli = labCli;
const SEED_MASQUERADE =
  '-m set --match-set kube-router-pod-subnets src -m set ! --match-set kube-router-pod-subnets dst -m set ! --match-set kube-router-node-ips dst -j MASQUERADE --random-fully';

describe('lab: 3 nodes and a ToR', () => {
  let lab: Lab;
  const measured: string[] = [];

  beforeAll(async () => {
    const up = await labUp(DIR, PREFIX, ['--nodes', '3', '--tor']);
    expect(up.stdout).toMatch(/lab is up/);
    lab = up.lab;
  });

  afterAll(async () => {
    if (measured.length) process.stdout.write(`\nlab measurements:\n  ${measured.join('\n  ')}\n`);
    await labDown(DIR, PREFIX);
  });

  const nodes = () => lab.state.nodes;
  const pod = (name: string): LabPod => lab.state.pods.find((p) => p.name === name)!;
  const sh = async (netns: string, cmd: string, ...args: string[]): Promise<string> => (await lab.netns(netns).exec(cmd, args)).stdout;
  /** Our routes in a node's kernel table, as `ip -j route show proto 44` reports them. */
  const kernelRoutes = async (netns: string): Promise<{ dst: string; gateway?: string; protocol: string }[]> =>
    (JSON.parse(await sh(netns, 'ip', '-j', 'route', 'show')) as { dst: string; gateway?: string; protocol?: string }[]).filter(
      (r) => r.protocol === '44',
    ) as never;
  const torPrefix = async (prefix: string): Promise<string[]> => (await torRoutes(lab)).find((r) => r.prefix === prefix)?.nextHops ?? [];

  /** Starts tcpdump in a namespace, runs `trigger`, returns the first matching packet line. */
  async function sniff(netns: string, filter: string, trigger: () => Promise<unknown>): Promise<string> {
    const child = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-l', '-n', '-i', 'eth0', '-c', '1', filter], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    try {
      await until(() => /listening on/.test(err), 10000, 'tcpdump to listen');
      await trigger();
      await until(() => out.includes('\n'), 10000, `a packet matching "${filter}" in ${netns}`);
      return out.split('\n')[0]!;
    } finally {
      child.kill('SIGKILL');
    }
  }

  it('every pod pings every other pod, within and across nodes', async () => {
    expect(lab.state.pods).toHaveLength(6);
    const pings = await pingMatrix(lab);
    expect(pings).toHaveLength(30);
    expect(pings.filter((p) => !p.ok)).toEqual([]);
  });

  it("each node's kernel table holds the other nodes' pod CIDRs via their node IPs, with our protocol number", async () => {
    for (const n of nodes()) {
      const want = nodes()
        .filter((m) => m !== n)
        .map((m) => ({ dst: m.podCidr, gateway: m.ip, protocol: '44' }));
      const have = (await kernelRoutes(n.netns)).map((r) => ({ dst: r.dst, gateway: r.gateway, protocol: String(r.protocol) }));
      expect(have.sort((a, b) => a.dst.localeCompare(b.dst))).toEqual(want);
      // kube-bridge holds the first address of the node's pod CIDR (the pods' gateway).
      expect(await sh(n.netns, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'kube-bridge')).toContain(
        `inet ${n.podCidr.replace(/0\/24$/, '1/24')}`,
      );
    }
  });

  it("the ToR's BIRD table holds all three pod CIDRs with the node IPs as next hops", async () => {
    const routes = await torRoutes(lab);
    expect(routes).toEqual(nodes().map((n) => ({ prefix: n.podCidr, nextHops: [n.ip] })));
    const bird = await lab.birdc('show', 'route', 'all');
    for (const n of nodes())
      expect(bird).toMatch(new RegExp(`${n.podCidr.replace(/[./]/g, '\\$&')}\\s+unicast \\[${n.name} [^\\n]*AS64512i\\]`));
  });

  it('the gobgp CLI in a node reads its agent as in a kube-router pod (--gobgp-admin-port 50051 by default): every peer Established, every pod CIDR in the RIB', async () => {
    const [n1, n2] = nodes() as [LabNode, LabNode];
    const rows = (await sh(n1.netns, 'gobgp', 'neighbor')).trim().split('\n');
    expect(rows[0]).toMatch(/^Peer\s+AS\s+Up\/Down\s+State/);
    // The two other nodes (iBGP, AS 64512) and the ToR.
    expect(rows.slice(1)).toHaveLength(3);
    for (const row of rows.slice(1)) expect(row).toMatch(/^\S+\s+\d+\s+\d\d:\d\d:\d\d\s+Establ\s/);
    expect(rows.find((r) => r.startsWith(`${n2.ip} `))).toMatch(/\s64512\s/);
    const rib = await sh(n1.netns, 'gobgp', 'global', 'rib');
    for (const n of nodes()) expect(rib).toContain(n.podCidr);
    expect(rib).toMatch(new RegExp(`\\*>\\s+${n2.podCidr.replace(/[./]/g, '\\$&')}\\s+${n2.ip.replace(/\./g, '\\.')}\\s`));
  });

  it('the agents run with the environment and node options the image gives them (src/agent/process-env.ts)', () => {
    for (const n of nodes()) {
      const pid = Number(fs.readFileSync(`${n.dir}/agent.pid`, 'utf8'));
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      for (const [k, v] of Object.entries(AGENT_ENV)) expect(env).toContain(`${k}=${v}`);
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 1 + AGENT_NODE_ARGS.length)).toEqual(AGENT_NODE_ARGS);
    }
  });

  it("maps V8's builtins from the node binary once (--no-short-builtin-calls): no two executable mappings of it share file pages", () => {
    const binary = fs.realpathSync(process.execPath);
    for (const n of nodes()) {
      const pid = Number(fs.readFileSync(`${n.dir}/agent.pid`, 'utf8'));
      const code = fs
        .readFileSync(`/proc/${pid}/maps`, 'utf8')
        .split('\n')
        .map((line) => line.split(/\s+/))
        .filter((f) => f[5] === binary && f[1]!.includes('x'))
        .map((f) => {
          const [from, to] = f[0]!.split('-').map((h) => parseInt(h, 16)) as [number, number];
          const offset = parseInt(f[2]!, 16);
          return { offset, end: offset + to - from };
        })
        .sort((a, b) => a.offset - b.offset);
      expect(code.length).toBeGreaterThan(0);
      for (let i = 1; i < code.length; i++) expect(code[i]!.offset).toBeGreaterThanOrEqual(code[i - 1]!.end);
    }
  });

  it('ipset list and iptables-save show what the seed notes show', async () => {
    for (const n of nodes()) {
      const subnets = await sh(n.netns, 'ipset', 'list', 'kube-router-pod-subnets');
      expect(subnets).toMatch(/^Name: kube-router-pod-subnets\nType: hash:net\n/);
      expect(subnets).toMatch(/Header: family inet hashsize 1024 maxelem 65536 timeout 0/);
      const members = (text: string) => text.split('Members:\n')[1]!.trim().split('\n').sort();
      expect(members(subnets)).toEqual(nodes().map((m) => `${m.podCidr} timeout 0`));
      const ips = await sh(n.netns, 'ipset', 'list', 'kube-router-node-ips');
      expect(ips).toMatch(/^Name: kube-router-node-ips\nType: hash:ip\n/);
      expect(members(ips)).toEqual(nodes().map((m) => `${m.ip} timeout 0`));

      const rules = (await sh(n.netns, 'iptables-save', '-t', 'nat')).split('\n').filter((l) => l.startsWith('-A'));
      expect(rules).toContain('-A POSTROUTING -m comment --comment kube-router-ts -j KUBE-ROUTER-TS-POSTROUTING');
      expect(rules).toContain(`-A KUBE-ROUTER-TS-POSTROUTING ${SEED_MASQUERADE}`);
      expect(await sh(n.netns, 'sysctl', '-n', 'net.ipv4.ip_forward')).toBe('1\n');
    }
  });

  it('pod egress to a host outside the cluster leaves with the node IP; pod-to-pod traffic keeps pod IPs', async () => {
    const p = pod('node1-pod1');
    const egress = await sniff(lab.state.tor!.netns, `icmp and dst host ${EXTERNAL_HOST}`, () => podPing(lab, p, EXTERNAL_HOST));
    expect(egress).toMatch(
      new RegExp(`IP ${nodes()[0]!.ip.replace(/\./g, '\\.')} > ${EXTERNAL_HOST.replace(/\./g, '\\.')}: ICMP echo request`),
    );
    const ct = await sh(nodes()[0]!.netns, 'conntrack', '-L', '-p', 'icmp', '-d', EXTERNAL_HOST);
    expect(ct).toMatch(new RegExp(`src=${p.ip} dst=${EXTERNAL_HOST}.* src=${EXTERNAL_HOST} dst=${nodes()[0]!.ip} `));

    const target = pod('node2-pod1');
    const east = await sniff(nodes()[1]!.netns, `icmp and dst host ${target.ip}`, () => podPing(lab, p, target.ip!));
    expect(east).toContain(`IP ${p.ip} > ${target.ip}: ICMP echo request`);
  });

  it('lab status prints the ping matrix and exits 0; it exits 1 and names the failing pairs when a pod is cut off', async () => {
    const ok = await cli('lab', 'status', `--dir=${DIR}`);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/OK: 30 of 30 pod pairs reach each other/);
    // Each agent's resident memory, as it reports it (the benchmark in bench/agent-footprint.ts measures it).
    expect(ok.stdout).toMatch(/node1 +10\.0\.0\.11 +10\.244\.1\.0\/24 +up +\d+ MiB +ok +3\/3 up +2/);
    for (const n of ['node2', 'node3']) expect(ok.stdout).toMatch(new RegExp(`${n} +\\S+ +\\S+ +up +\\d+ MiB +ok`));
    // The Pods informer of each agent sees its node's pods, Running and ready.
    expect(ok.stdout).toMatch(/node2-pod1 +node2 +10\.244\.2\.2 +Running, ready/);
    expect(ok.stdout).not.toMatch(/not seen/);
    const cut = pod('node3-pod2');
    await lab.netns(cut.netns).exec('iptables', ['-A', 'INPUT', '-p', 'icmp', '-j', 'DROP']);
    try {
      const bad = await cli('lab', 'status', `--dir=${DIR}`);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/NOT OK: 10 of 30 pod pairs fail/);
      expect(bad.stdout).toMatch(/node3-pod2 (FAIL +){5}-/);
      expect(bad.stdout).toMatch(/node1-pod1 -( +ok){4} +FAIL/);
    } finally {
      await lab.netns(cut.netns).exec('iptables', ['-D', 'INPUT', '-p', 'icmp', '-j', 'DROP']);
    }
  });

  describe('a Service with an external IP and externalTrafficPolicy Local', () => {
    const VIP = '198.51.100.10';
    const base = '/api/v1/namespaces/default/services';
    const slices = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
    const endpoint = (p: LabPod, ready: boolean) => ({
      addresses: [p.ip],
      conditions: { ready, serving: ready, terminating: false },
      nodeName: p.node,
      targetRef: { kind: 'Pod', namespace: 'default', name: p.name },
    });
    const slice = (eps: unknown[]) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-x7k2p', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: eps,
    });
    const advertisedBy = (hops: string[]) =>
      until(
        async () => JSON.stringify(await torPrefix(`${VIP}/32`)) === JSON.stringify(hops),
        15000,
        `the ToR to hold ${VIP}/32 via [${hops.join(', ')}]`,
      );

    afterAll(async () => {
      await lab.api.delete(`${slices}/web-x7k2p`);
      await lab.api.delete(`${base}/web`);
    });

    it('is advertised to the ToR by exactly the nodes running its ready pods, and withdrawn when they go', async () => {
      await lab.api.create(base, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          type: 'NodePort',
          selector: { app: 'web' },
          clusterIP: '10.96.0.50',
          clusterIPs: ['10.96.0.50'],
          ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' }],
          externalIPs: [VIP],
          externalTrafficPolicy: 'Local',
        },
      });
      // No endpoints yet: no node has a ready local pod, nobody advertises.
      await sleep(1000);
      expect(await torPrefix(`${VIP}/32`)).toEqual([]);

      await lab.api.create(
        slices,
        slice([endpoint(pod('node1-pod1'), true), endpoint(pod('node3-pod1'), true), endpoint(pod('node2-pod2'), false)]),
      );
      await advertisedBy(['10.0.0.11', '10.0.0.13']);
      // The cluster IP is not advertised (--advertise-cluster-ip is off); nodes install no route for the VIP.
      expect(await torPrefix('10.96.0.50/32')).toEqual([]);
      for (const n of nodes()) expect((await kernelRoutes(n.netns)).map((r) => r.dst)).not.toContain(VIP);

      await lab.api.mergePatch(`${slices}/web-x7k2p`, {
        endpoints: [endpoint(pod('node1-pod1'), true), endpoint(pod('node3-pod1'), false), endpoint(pod('node2-pod2'), true)],
      });
      await advertisedBy(['10.0.0.11', '10.0.0.12']);

      await lab.api.delete(`${slices}/web-x7k2p`);
      await advertisedBy([]);

      // Cluster policy: every node advertises; deleting the Service withdraws it everywhere.
      await lab.api.mergePatch(`${base}/web`, { spec: { externalTrafficPolicy: 'Cluster' } });
      await advertisedBy(['10.0.0.11', '10.0.0.12', '10.0.0.13']);
      await lab.api.delete(`${base}/web`);
      await advertisedBy([]);
    });
  });

  describe('node annotations', () => {
    const nodePath = '/api/v1/nodes/node1';
    const annotate = (annotations: Record<string, string | null>) => lab.api.mergePatch(nodePath, { metadata: { annotations } });
    const torRoute = () => lab.birdc('show', 'route', '10.244.1.0/24', 'all');

    it('node.bgp.communities and path-prepend.* change what the node advertises; a garbage value is logged once and ignored', async () => {
      await annotate({
        'kube-router.io/node.bgp.communities': '64512:100,64512:200',
        'kube-router.io/path-prepend.as': '64512',
        'kube-router.io/path-prepend.repeat-n': '2',
      });
      await until(
        async () =>
          /BGP\.community: \(64512,100\) \(64512,200\)/.test(await torRoute()) &&
          /BGP\.as_path: 64512 64512 64512\n/.test(await torRoute()),
        15000,
        'communities and prepending at the ToR',
      );

      await annotate({
        'kube-router.io/node.bgp.communities': 'banana',
        'kube-router.io/path-prepend.as': null,
        'kube-router.io/path-prepend.repeat-n': null,
      });
      await until(
        async () => !/BGP\.community/.test(await torRoute()) && /BGP\.as_path: 64512\n/.test(await torRoute()),
        15000,
        'the garbage community ignored, prepending gone',
      );
      // Another change to the Node makes every agent compute again: still one log line.
      await lab.api.mergePatch(nodePath, { metadata: { labels: { resync: 'yes' } } });
      await sleep(500);
      const log = fs.readFileSync(`${nodes()[0]!.dir}/agent.log`, 'utf8').split('\n');
      expect(log.filter((l) => l.includes('banana'))).toHaveLength(1);
      expect(log.find((l) => l.includes('banana'))).toMatch(/"level":40.*ignoring kube-router.io\/node.bgp.communities on node\/node1/);
      expect((await lab.agentStatus(nodes()[0]!)).ready).toBe(true);
      await annotate({ 'kube-router.io/node.bgp.communities': null });
    });

    it('peer.ips, peer.asns and peer.passwords add a node-specific eBGP peer with TCP MD5; removing them removes it', async () => {
      const dir = `${DIR}/edge`;
      fs.mkdirSync(dir, { recursive: true });
      const edgeNs = await lab.addHost('edge', ['10.0.0.200/24']);
      const edge = await Bird.start(edgeNs, dir, {
        routerId: '10.0.0.200',
        asn: 65010,
        localAddress: '10.0.0.200',
        routes: [],
        protocols: [{ name: 'node1', neighbor: '10.0.0.11', asn: 64512, password: 'edge-secret' }],
      });
      try {
        await annotate({
          'kube-router.io/peer.ips': '10.0.0.200',
          'kube-router.io/peer.asns': '65010',
          'kube-router.io/peer.passwords': Buffer.from('edge-secret').toString('base64'),
        });
        await until(
          async () => /node1\s+BGP\s+\S+\s+up\s+.*Established/.test(await edge.birdc('show', 'protocols')),
          20000,
          'the edge router to peer with node1',
        );
        // Established comes first; the UPDATE a moment later.
        await until(
          async () => parseBirdRoutes(await edge.birdc('show', 'route', 'all')).length > 0,
          10000,
          "node1's pod CIDR at the edge router",
        );
        const routes = parseBirdRoutes(await edge.birdc('show', 'route', 'all'));
        expect(routes.map((r) => ({ prefix: r.prefix, nextHop: r.nextHop, asPath: r.asPath }))).toEqual([
          { prefix: '10.244.1.0/24', nextHop: '10.0.0.11', asPath: [64512] },
        ]);
        expect((await lab.neighbors(nodes()[0]!)).find((x) => x.address === '10.0.0.200')).toMatchObject({
          asn: 65010,
          state: 'Established',
        });
        // Only node1 carries the annotation.
        expect((await lab.neighbors(nodes()[1]!)).map((x) => x.address)).not.toContain('10.0.0.200');

        await annotate({ 'kube-router.io/peer.ips': null, 'kube-router.io/peer.asns': null, 'kube-router.io/peer.passwords': null });
        await until(
          async () => parseBirdRoutes(await edge.birdc('show', 'route', 'all')).length === 0,
          15000,
          'the edge router to lose node1 routes',
        );
        expect((await lab.neighbors(nodes()[0]!)).map((x) => x.address)).not.toContain('10.0.0.200');
      } finally {
        edge.stop();
        await edgeNs.destroy();
      }
    });
  });

  it('deleting a Node object removes its routes from the other nodes and the ToR; adding it back restores them', async () => {
    const [n1, n2, n3] = nodes() as [Lab['state']['nodes'][number], Lab['state']['nodes'][number], Lab['state']['nodes'][number]];
    const routedOn = async (n: typeof n1, cidr: string) => (await kernelRoutes(n.netns)).some((r) => r.dst === cidr);

    let t = Date.now();
    await lab.deleteNode(n3);
    let removal: number;
    try {
      await until(
        async () => !(await routedOn(n1, n3.podCidr)) && !(await routedOn(n2, n3.podCidr)) && (await torPrefix(n3.podCidr)).length === 0,
        20000,
        `${n3.podCidr} to leave node1, node2 and the ToR`,
      );
      removal = Date.now() - t;
      // The deleted node left the cluster: it holds no routes to the others any more.
      await until(async () => (await kernelRoutes(n3.netns)).length === 0, 10000, 'node3 to drop its learned routes');
      expect(await podPing(lab, pod('node1-pod1'), pod('node3-pod1').ip!)).toBe(false);
    } catch (e) {
      await lab.createNode(n3); // the tests after this one need node3
      throw e;
    }

    t = Date.now();
    await lab.createNode(n3);
    await until(
      async () =>
        (await routedOn(n1, n3.podCidr)) &&
        (await routedOn(n2, n3.podCidr)) &&
        (await kernelRoutes(n3.netns)).length === 2 &&
        JSON.stringify(await torPrefix(n3.podCidr)) === JSON.stringify([n3.ip]),
      30000,
      `${n3.podCidr} to be back on node1, node2 and the ToR, and node3 to route to the others`,
    );
    const restore = Date.now() - t;
    measured.push(`Node deleted -> its pod CIDR gone from both other nodes' kernels and the ToR: ${removal} ms`);
    measured.push(`Node created again -> routes back everywhere (sessions re-established): ${restore} ms`);
    expect((await pingMatrix(lab)).filter((p) => !p.ok)).toEqual([]);
  });

  describe('the API server dropping watches, answering 410, going away', () => {
    /** What must survive: kernel routes, ipsets, the NAT rules, the ToR's table. */
    const snapshot = async () => {
      const perNode = await Promise.all(
        nodes().map(async (n) => ({
          routes: await sh(n.netns, 'ip', 'route', 'show', 'proto', '44'),
          sets: (await sh(n.netns, 'ipset', 'list')).replace(/initval 0x[0-9a-f]+|Size in memory: \d+|References: \d+/g, ''),
          nat: (await sh(n.netns, 'iptables-save', '-t', 'nat')).split('\n').filter((l) => l.startsWith('-A')),
        })),
      );
      return { perNode, tor: await torRoutes(lab) };
    };
    const informerTotals = async (n: Lab['state']['nodes'][number]) => {
      const st = await lab.agentStatus(n);
      return {
        lists: st.informers.reduce((a, i) => a + i.lists, 0),
        restarts: st.informers.reduce((a, i) => a + i.restarts, 0),
        objects: st.informers.map((i) => `${i.name}=${i.objects}`).join(' '),
      };
    };
    const service = (name: string, ip: string) => {
      const clusterIP = `10.96.1.${ip.split('.')[3]}`;
      return {
        apiVersion: 'v1',
        kind: 'Service',
        // Counted by the informers alone: the lab's endpoint-slice controller leaves it be.
        metadata: { name, namespace: 'default', annotations: { [STATIC_ANNOTATION]: 'test' } },
        spec: {
          type: 'ClusterIP',
          clusterIP,
          clusterIPs: [clusterIP],
          selector: { app: name },
          ports: [{ port: 80, protocol: 'TCP' }],
          externalIPs: [ip],
        },
      };
    };
    const svcPath = '/api/v1/namespaces/default/services';
    const allNodesAdvertise = (ip: string, yes: boolean) =>
      until(
        async () => JSON.stringify(await torPrefix(`${ip}/32`)) === JSON.stringify(yes ? nodes().map((n) => n.ip) : []),
        45000,
        `${ip}/32 ${yes ? 'advertised by every node' : 'withdrawn'} at the ToR`,
      );

    it('a dropped watch resumes where it was: later changes arrive, nothing is listed again', async () => {
      const before = await Promise.all(nodes().map(informerTotals));
      const dropped = await lab.api.lab<{ dropped: number }>('drop-watches');
      expect(dropped.dropped).toBeGreaterThanOrEqual(12); // 4 informers x 3 agents
      await lab.api.create(svcPath, service('after-drop', '198.51.100.20'));
      await allNodesAdvertise('198.51.100.20', true);
      await lab.api.delete(`${svcPath}/after-drop`);
      await allNodesAdvertise('198.51.100.20', false);
      const after = await Promise.all(nodes().map(informerTotals));
      expect(after.map((a) => a.lists)).toEqual(before.map((b) => b.lists));
      expect(after.map((a) => a.objects)).toEqual(before.map((b) => b.objects));
    });

    it('after 410 Gone the agents list again and end with the same state: nothing lost, nothing duplicated', async () => {
      const state = await snapshot();
      const before = await Promise.all(nodes().map(informerTotals));
      await lab.api.create(svcPath, service('before-410', '198.51.100.21'));
      await allNodesAdvertise('198.51.100.21', true);
      // Something nobody watches changes, then history is compacted: every informer's last
      // resourceVersion is now too old, as after an etcd compaction on a busy cluster.
      await lab.api.create('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'lab-tick' },
        spec: { holderIdentity: 'lab' },
      });
      await lab.api.lab('compact');
      await lab.api.lab('drop-watches');
      await until(
        async () => (await Promise.all(nodes().map(informerTotals))).every((a, i) => a.lists >= before[i]!.lists + 4),
        30000,
        'every informer of every agent to list again after 410',
      );
      const after = await Promise.all(nodes().map(informerTotals));
      expect(after.map((a) => a.objects)).toEqual(
        before.map((b) => b.objects.replace(/services=(\d+)/, (_, n) => `services=${Number(n) + 1}`)),
      );
      expect(await torPrefix('198.51.100.21/32')).toEqual(nodes().map((n) => n.ip));
      await lab.api.delete(`${svcPath}/before-410`);
      await allNodesAdvertise('198.51.100.21', false);
      expect(await snapshot()).toEqual(state);
    });

    it('while the API server is away nothing is torn down; changes made meanwhile arrive once it is back', async () => {
      const state = await snapshot();
      const before = await Promise.all(nodes().map(informerTotals));
      await lab.api.lab('down');
      try {
        await sleep(4000);
        expect(await snapshot()).toEqual(state);
        expect((await pingMatrix(lab)).filter((p) => !p.ok)).toEqual([]);
        // The lab's own socket still reaches the store: the change waits for the agents there.
        await lab.api.create(svcPath, service('while-down', '198.51.100.22'));
        await sleep(500);
        expect(await torPrefix('198.51.100.22/32')).toEqual([]);
      } finally {
        await lab.api.lab('up');
      }
      const t = Date.now();
      await allNodesAdvertise('198.51.100.22', true);
      measured.push(
        `API server back after 4.5 s away -> change made meanwhile advertised by all nodes: ${Date.now() - t} ms (informer restart backoff)`,
      );
      const after = await Promise.all(nodes().map(informerTotals));
      after.forEach((a, i) => expect(a.restarts).toBeGreaterThan(before[i]!.restarts));
      await lab.api.delete(`${svcPath}/while-down`);
      await allNodesAdvertise('198.51.100.22', false);
      expect(await snapshot()).toEqual(state);
    });
  });

  const nat = async (netns: string) =>
    (await sh(netns, 'iptables-save')).split('\n').filter((l) => l.startsWith('-A') || l.startsWith(':KUBE'));

  it('an agent restart keeps its kernel routes while it is away (its peers keep its pod CIDR: graceful restart), then converges, adding nothing twice and sweeping what BGP no longer has', async () => {
    const [n1, n2] = nodes() as [Lab['state']['nodes'][number], Lab['state']['nodes'][number]];
    const before = {
      routes: await sh(n2.netns, 'ip', 'route', 'show', 'proto', '44'),
      rules: await nat(n2.netns),
      sets: await sh(n2.netns, 'ipset', 'save'),
    };
    await lab.stopAgent(n2);
    // RFC 4724: node1 keeps node2's pod CIDR (stale) while node2's agent is away.
    for (let i = 0; i < 4; i++) {
      expect((await kernelRoutes(n1.netns)).some((r) => r.dst === n2.podCidr)).toBe(true);
      await sleep(500);
    }
    expect(fs.readFileSync(`${n1.dir}/agent.log`, 'utf8')).toMatch(/"peer":"10\.0\.0\.12".*graceful restart: keeping routes as stale/);
    // Forwarding state is preserved on the stopped node: its routes and rules stay.
    expect(await sh(n2.netns, 'ip', 'route', 'show', 'proto', '44')).toBe(before.routes);
    expect(await podPing(lab, pod('node2-pod1'), pod('node2-pod2').ip!)).toBe(true);
    expect(await podPing(lab, pod('node1-pod1'), pod('node2-pod1').ip!)).toBe(true);
    // A route of ours from before the restart that BGP will not have again: swept once BGP converged.
    await sh(n2.netns, 'ip', 'route', 'add', '10.99.0.0/24', 'via', n1.ip, 'proto', '44');
    lab.startAgent(n2);
    await lab.waitConverged(30000);
    await until(
      async () => !(await sh(n2.netns, 'ip', 'route', 'show', 'proto', '44')).includes('10.99.0.0/24'),
      15000,
      'the stale route swept',
    );
    expect(await sh(n2.netns, 'ip', 'route', 'show', 'proto', '44')).toBe(before.routes);
    expect(await nat(n2.netns)).toEqual(before.rules);
    expect(await sh(n2.netns, 'ipset', 'save')).toBe(before.sets);
    expect((await pingMatrix(lab)).filter((p) => !p.ok)).toEqual([]);
  });

  it('--cleanup-config removes everything the agent set up, and a restarted agent sets it all up again', async () => {
    const n3 = nodes()[2]!;
    const cleanup = () =>
      lab.netns(n3.netns).exec(process.execPath, [CLI, '--cleanup-config', `--cni-conf-path=${n3.cniConfList}`], { allowFail: true });
    await lab.stopAgent(n3);
    const r = await cleanup();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        '^removed: iptables chains nat/KUBE-ROUTER-TS-POSTROUTING, filter/KUBE-ROUTER-TS-FORWARD.*; 2 routes; ' +
          // The firewall's top-level chains (no policy here: no pod chains).
          'firewall chains: 3; ipsets kube-router-pod-subnets, kube-router-node-ips; .*10-kuberouter\\.conflist; kube-bridge\n$',
      ),
    );
    expect(await sh(n3.netns, 'ip', 'route', 'show', 'proto', '44')).toBe('');
    expect((await lab.netns(n3.netns).exec('ip', ['link', 'show', 'kube-bridge'], { allowFail: true })).code).not.toBe(0);
    expect(await sh(n3.netns, 'ipset', 'list', '-n')).toBe('');
    expect((await sh(n3.netns, 'iptables-save')) + (await sh(n3.netns, 'ip6tables-save'))).not.toMatch(/KUBE-ROUTER-TS|kube-router/);
    expect(fs.existsSync(n3.cniConfList)).toBe(false);
    expect((await cleanup()).stdout).toBe('nothing to remove\n');

    lab.startAgent(n3);
    await lab.waitConverged(30000);
    expect(fs.existsSync(n3.cniConfList)).toBe(true);
    expect(await sh(n3.netns, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'kube-bridge')).toContain('inet 10.244.3.1/24');
    expect((await sh(n3.netns, 'ipset', 'list', '-n')).split('\n').filter(Boolean).sort()).toEqual([
      'kube-router-node-ips',
      'kube-router-pod-subnets',
    ]);
    expect(await nat(n3.netns)).toContain(`-A KUBE-ROUTER-TS-POSTROUTING ${SEED_MASQUERADE}`);
  });
});
