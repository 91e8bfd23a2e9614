/**
 * Network policy with real traffic, in the style of the upstream Kubernetes network policy
 * end-to-end tests: namespaces x, y and z, pods a, b and c in each (spread over both nodes of
 * a lab, so traffic is bridged on one node and routed between nodes), each serving TCP and UDP
 * on ports 80 and 81, all applied with kubectl. For each set of policies the whole
 * reachability matrix (every pod to every pod, each port and protocol: 324 probes) is compared
 * with the expected one. The agents run with their default --run-firewall=true.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Lab } from '../../lab/cluster';
import { Netns } from '../../lab/netns';
import { podNetns } from '../../lab/controllers';
import { until } from '../../lab/wait';
import { labCli, labDown, labUp } from '../helpers/lab';
import { TEST_NETNS_PREFIX } from '../helpers/topology';
import { run } from '../../src/util/exec';

jest.setTimeout(300000);

const PREFIX = `${TEST_NETNS_PREFIX}np-`;
const DIR = '/run/kube-router-ts/test-netpol';
const FIXTURES = path.resolve(__dirname, '../fixtures/netpol');
const NAMESPACES = ['x', 'y', 'z'] as const;
const PODS = ['a', 'b', 'c'] as const;
const PORTS = ['80/tcp', '81/tcp', '80/udp', '81/udp'] as const;
type Port = (typeof PORTS)[number];
/** "x/a" */
type PodId = `${(typeof NAMESPACES)[number]}/${(typeof PODS)[number]}`;
const ALL: PodId[] = NAMESPACES.flatMap((ns) => PODS.map((p) => `${ns}/${p}` as PodId));

type Expect = (from: PodId, to: PodId, port: Port) => boolean;

/** The firewall's two backends: iptables and ipsets (the default), and --use-nftables-for-netpol. */
const BACKENDS: [string, string][] = [
  ['iptables', ''],
  ['nftables', ' --use-nftables-for-netpol'],
];
/** The nftables tables of --use-nftables-for-netpol, as nft addresses them. */
const NFT_TABLE4 = ['ip', 'kube-router-filter-ipv4'];

describe.each(BACKENDS)('network policy (%s): reachability matrix, x/y/z with pods a/b/c on 2 nodes', (backend, backendArgs) => {
  let lab: Lab;
  const ips = new Map<PodId, string>();
  const netns = new Map<PodId, string>();
  const kubectl = (...args: string[]) =>
    run('/usr/bin/kubectl', ['--kubeconfig', `${DIR}/kubeconfig`, ...args], { env: { ...process.env, HOME: DIR } }).then((r) => r.stdout);
  const apply = async (name: string, yaml: string): Promise<void> => {
    fs.writeFileSync(`${DIR}/${name}.yaml`, yaml);
    await kubectl('apply', '-f', `${DIR}/${name}.yaml`);
  };

  beforeAll(async () => {
    // A short full resync, and no periodic drift checks: what repairs a set then is the resync.
    // And kube-router's default deny: an address of a pod CIDR no known pod holds is refused.
    const agentArgs = `--agent-args=--iptables-sync-period=2s --self-heal-period=0 --netpol-default-deny${backendArgs}`;
    lab = (await labUp(DIR, PREFIX, ['--nodes', '2', '--prometheus=false', agentArgs])).lab;
    const [n1, n2] = lab.state.nodes;
    const nodeOf: Record<string, string> = { a: n1!.name, b: n2!.name, c: n1!.name };
    const docs: string[] = [];
    for (const ns of NAMESPACES) {
      // Quoted: YAML 1.1, which kubectl reads, takes a bare y for true.
      docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: "${ns}", labels: {ns: "${ns}"}}`);
      for (const p of PODS)
        docs.push(`apiVersion: v1
kind: Pod
metadata: {name: "${p}", namespace: "${ns}", labels: {pod: "${p}"}}
spec:
  nodeName: ${nodeOf[p]}
  containers:
  - name: c
    image: none
    command: ["python3", "${FIXTURES}/server.py", "${ns}/${p}"]
    ports:
    - {name: serve-80-tcp, containerPort: 80, protocol: TCP}
    - {name: serve-81-tcp, containerPort: 81, protocol: TCP}
    - {name: serve-80-udp, containerPort: 80, protocol: UDP}
    - {name: serve-81-udp, containerPort: 81, protocol: UDP}`);
    }
    await apply('pods', docs.join('\n---\n'));
    for (const id of ALL) {
      const [ns, name] = id.split('/') as [string, string];
      let ip = '';
      await until(
        async () => (ip = await kubectl('get', 'pod', '-n', ns, name, '-o', 'jsonpath={.status.podIP}')) !== '',
        60000,
        `${id}'s IP`,
      );
      ips.set(id, ip);
      netns.set(id, podNetns(lab, ns, name));
    }
  });

  afterAll(async () => {
    await labDown(DIR, PREFIX);
  });

  /** One probe run from every pod to every pod and port, in parallel; "x/a -> y/b 80/tcp" -> reached. */
  async function matrix(timeout = 1): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    await Promise.all(
      ALL.map(async (from) => {
        const targets = ALL.flatMap((to) => PORTS.map((p) => `${ips.get(to)}:${p.split('/')[0]}/${p.split('/')[1]}`));
        const r = await run('ip', ['netns', 'exec', netns.get(from)!, 'python3', `${FIXTURES}/probe.py`, String(timeout), ...targets]);
        const res = JSON.parse(r.stdout) as Record<string, boolean>;
        for (const to of ALL)
          for (const p of PORTS) out.set(`${from} -> ${to} ${p}`, res[`${ips.get(to)}:${p.split('/')[0]}/${p.split('/')[1]}`]!);
      }),
    );
    return out;
  }

  /**
   * The probes that differ from `expect`, as "x/a -> y/b 80/tcp: reached, expected blocked". A
   * pod reaching itself never leaves its namespace (loopback): no policy applies, as upstream's
   * tests allow loopback too.
   */
  const wrong = (m: Map<string, boolean>, expect: Expect): string[] =>
    ALL.flatMap((from) =>
      ALL.flatMap((to) =>
        PORTS.flatMap((p) => {
          const got = m.get(`${from} -> ${to} ${p}`);
          const want = from === to || expect(from, to, p);
          return got === want ? [] : [`${from} -> ${to} ${p}: ${got ? 'reached' : 'blocked'}, expected ${want ? 'reached' : 'blocked'}`];
        }),
      ),
    );

  /** Waits (up to 15 s) for the matrix to be the expected one; fails listing the differences. */
  async function expectMatrix(expect: Expect): Promise<void> {
    let diff: string[] = [];
    const deadline = Date.now() + 15000;
    do {
      diff = wrong(await matrix(), expect);
      if (diff.length === 0) return;
    } while (Date.now() < deadline);
    throw new Error(`reachability differs in ${diff.length} of 324 probes:\n${diff.slice(0, 40).join('\n')}`);
  }

  const policies = (name: string, ...docs: string[]) => apply(name, docs.join('\n---\n'));
  /** A NetworkPolicy of namespace `ns` with `spec` (YAML: a flow mapping, or block lines indented by 2). */
  const np = (name: string, ns: string, spec: string): string =>
    `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: "${ns}"}\nspec:${spec.startsWith('{') ? ` ${spec}` : `\n${spec}`}`;
  const clear = async () => {
    for (const ns of NAMESPACES) await kubectl('delete', 'networkpolicy', '--all', '-n', ns);
  };
  const nsOf = (id: PodId) => id.split('/')[0]!;
  // Each test starts without policies, also after one that failed.
  afterEach(clear);

  it('without policies every pod reaches every pod on every port', async () => {
    await expectMatrix(() => true);
  });

  it('an empty ingress rule list isolates: nothing reaches x; the node itself still does (kubelet probes)', async () => {
    const t0 = Date.now();
    await policies('deny-x', np('deny-ingress', 'x', `{podSelector: {}, policyTypes: [Ingress]}`));
    // How soon after the API accepted it the policy holds (y/b on node 2 -> x/a on node 1).
    const from = netns.get('y/b')!;
    await until(
      async () => {
        const r = await run('ip', ['netns', 'exec', from, 'python3', `${FIXTURES}/probe.py`, '0.3', `${ips.get('x/a')}:80/tcp`]);
        return !Object.values(JSON.parse(r.stdout) as Record<string, boolean>)[0];
      },
      10000,
      'x/a to be isolated',
    );
    console.log(`network policy enforced ${Date.now() - t0} ms after kubectl apply returned (a probe with a 0.3 s timeout, back to back)`);
    await expectMatrix((_from, to) => nsOf(to) !== 'x');
    const node = lab.state.nodes[0]!;
    const fromNode = await run('ip', ['netns', 'exec', node.netns, 'python3', `${FIXTURES}/probe.py`, '1', `${ips.get('x/a')}:80/tcp`]);
    expect(Object.values(JSON.parse(fromNode.stdout) as Record<string, boolean>)).toEqual([true]);
    await clear();
    await expectMatrix(() => true);
  });

  it('podSelector, namespaceSelector, and both in one peer', async () => {
    await policies(
      'selectors',
      np(
        'a-from-b',
        'x',
        `  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]`,
      ),
      np(
        'b-from-y',
        'x',
        `  podSelector: {matchLabels: {pod: b}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`,
      ),
      np(
        'c-from-z-c',
        'x',
        `  podSelector: {matchExpressions: [{key: pod, operator: In, values: [c]}]}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "z"}}, podSelector: {matchLabels: {pod: c}}}]}]`,
      ),
    );
    await expectMatrix((from, to) => {
      if (to === 'x/a') return from === 'x/b';
      if (to === 'x/b') return nsOf(from) === 'y';
      if (to === 'x/c') return from === 'z/c';
      return true;
    });
  });

  it('ipBlock with except, and ports by number, by name and by range (endPort), per protocol', async () => {
    await policies(
      'blocks-ports',
      np(
        'a-from-block',
        'y',
        `  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{ipBlock: {cidr: 10.244.0.0/16, except: ["${ips.get('z/b')}/32"]}}], ports: [{port: 80}]}]`,
      ),
      np(
        'b-named-port',
        'y',
        `  podSelector: {matchLabels: {pod: b}}
  ingress: [{ports: [{port: serve-81-udp, protocol: UDP}]}]`,
      ),
      np(
        'c-range',
        'y',
        `  podSelector: {matchLabels: {pod: c}}
  ingress: [{ports: [{port: 80, endPort: 81, protocol: TCP}, {port: 1000, protocol: SCTP}]}]`,
      ),
    );
    await expectMatrix((from, to, port) => {
      if (to === 'y/a') return from !== 'z/b' && port === '80/tcp';
      if (to === 'y/b') return port === '81/udp';
      if (to === 'y/c') return port.endsWith('/tcp');
      return true;
    });
  });

  it('egress: to pods of a namespace on one port, to a pod by a named port resolved on it; the rest refused', async () => {
    await policies(
      'egress',
      np(
        'a-egress',
        'x',
        `  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
    ports: [{port: 81, protocol: UDP}]
  - to: [{namespaceSelector: {matchLabels: {ns: "z"}}, podSelector: {matchLabels: {pod: c}}}]
    ports: [{port: serve-80-tcp}]`,
      ),
    );
    await expectMatrix((from, to, port) => {
      if (from !== 'x/a') return true;
      return (nsOf(to) === 'y' && port === '81/udp') || (to === 'z/c' && port === '80/tcp');
    });
  });

  it('several policies add up; ingress and egress deny both ways in y', async () => {
    await policies(
      'add-up',
      np(
        'from-y-tcp80',
        'z',
        `  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}], ports: [{port: 80}]}]`,
      ),
      np(
        'from-x-udp81',
        'z',
        `  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "x"}}}], ports: [{port: 81, protocol: UDP}]}]`,
      ),
      np('deny-both', 'y', `{podSelector: {}, policyTypes: [Ingress, Egress]}`),
    );
    await expectMatrix((from, to, port) => {
      if (nsOf(from) === 'y' || nsOf(to) === 'y') return false;
      if (to === 'z/a') return nsOf(from) === 'x' && port === '81/udp';
      return true;
    });
    await clear();
    await expectMatrix(() => true);
  });

  it('an established connection survives a policy change that still allows it', async () => {
    const held = run('ip', ['netns', 'exec', netns.get('x/b')!, 'python3', `${FIXTURES}/probe.py`, '--hold', '4', `${ips.get('x/a')}:80`]);
    await new Promise((r) => setTimeout(r, 1000));
    await policies(
      'still-allowed',
      np(
        'a-from-b-80',
        'x',
        `  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]`,
      ),
    );
    const r = JSON.parse((await held).stdout) as { ok: number; failed: number };
    expect(r.failed).toBe(0);
    expect(r.ok).toBeGreaterThan(20);
    // And the policy was in force meanwhile: a new connection from c is refused.
    await expectMatrix((from, to, port) => (to === 'x/a' ? from === 'x/b' && port === '80/tcp' : true));
  });

  it('someone flushing the firewall chains (or deleting its nftables table) is undone within seconds', async () => {
    await policies('heal', np('deny-ingress', 'z', `{podSelector: {}, policyTypes: [Ingress]}`));
    const expectZ: Expect = (_f, to) => nsOf(to) !== 'z';
    await expectMatrix(expectZ);
    for (const n of lab.state.nodes) {
      const inNode = (...args: string[]) => run('ip', ['netns', 'exec', n.netns, ...args]);
      if (backend === 'nftables') {
        const chains = (await inNode('nft', 'list', 'table', ...NFT_TABLE4)).stdout.match(/chain KUBE-ROUTER-TS-NP-\S+/g)!;
        expect(chains.length).toBeGreaterThan(3);
        for (const c of chains) await inNode('nft', 'flush', 'chain', ...NFT_TABLE4, c.split(' ')[1]!);
        continue;
      }
      const save = await inNode('iptables-save', '-t', 'filter');
      for (const chain of save.stdout.split('\n').filter((l) => l.startsWith(':KUBE-ROUTER-TS-NP-')))
        await inNode('iptables', '-F', chain.slice(1).split(' ')[0]!);
    }
    await expectMatrix(expectZ);
    if (backend !== 'nftables') return;
    // The whole table deleted on every node: written again.
    for (const n of lab.state.nodes) await run('ip', ['netns', 'exec', n.netns, 'nft', 'delete', 'table', ...NFT_TABLE4]);
    for (const n of lab.state.nodes)
      await until(
        async () => (await run('ip', ['netns', 'exec', n.netns, 'nft', 'list', 'tables'])).stdout.includes(NFT_TABLE4[1]!),
        10000,
        `${n.name}'s table back`,
      );
    await expectMatrix(expectZ);
  });

  it('a set someone emptied is put back (by the full resync every --iptables-sync-period, or sooner by the drift check)', async () => {
    await policies(
      'resync',
      np('a-from-b', 'x', `{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]}`),
    );
    const expectA: Expect = (from, to) => (to === 'x/a' ? from === 'x/b' : true);
    await expectMatrix(expectA);
    const node1 = lab.state.nodes[0]!;
    const inNode = (...args: string[]) => run('ip', ['netns', 'exec', node1.netns, ...args]).then((r) => r.stdout);
    // The rule's peers (the known-pods set of the default deny aside): an ipset, or a set of the nftables table.
    const names =
      backend === 'nftables'
        ? ((await inNode('nft', 'list', 'table', ...NFT_TABLE4)).match(/set KRT-NP-\S+/g) ?? []).map((x) => x.split(' ')[1]!)
        : (await inNode('ipset', 'list', '-n')).split('\n');
    const sets = names.filter((n) => n.startsWith('KRT-NP-') && !n.startsWith('KRT-NP-LOCAL-PODS'));
    expect(sets).toHaveLength(1);
    const list = () => (backend === 'nftables' ? inNode('nft', 'list', 'set', ...NFT_TABLE4, sets[0]!) : inNode('ipset', 'list', sets[0]!));
    await (backend === 'nftables' ? inNode('nft', 'flush', 'set', ...NFT_TABLE4, sets[0]!) : inNode('ipset', 'flush', sets[0]!));
    expect(await list()).not.toContain(ips.get('x/b')!);
    const t0 = Date.now();
    await until(async () => (await list()).includes(ips.get('x/b')!), 10000, 'the set refilled');
    console.log(`${backend}: emptied policy set refilled after ${Date.now() - t0} ms (--iptables-sync-period=2s)`);
    await expectMatrix(expectA);
  });

  it('the other backend holds nothing of the firewall; a rolling restart onto the other backend moves it there with the policy kept', async () => {
    const other = backend === 'nftables' ? '' : ' --use-nftables-for-netpol';
    const held = async (netnsName: string) => {
      const inNode = (...args: string[]) => run('ip', ['netns', 'exec', netnsName, ...args]).then((r) => r.stdout);
      return {
        iptables: (await inNode('iptables-save', '-t', 'filter')).includes('KUBE-ROUTER-TS-NP'),
        ipsets: (await inNode('ipset', 'list', '-n')).includes('KRT-NP-'),
        nftables: (await inNode('nft', 'list', 'tables')).includes('kube-router-filter'),
      };
    };
    const only = (b: string) => ({ iptables: b === 'iptables', ipsets: b === 'iptables', nftables: b === 'nftables' });
    await policies('switch', np('deny-ingress', 'z', `{podSelector: {}, policyTypes: [Ingress]}`));
    const expectZ: Expect = (_f, to) => nsOf(to) !== 'z';
    await expectMatrix(expectZ);
    for (const n of lab.state.nodes) expect(await held(n.netns)).toEqual(only(backend));
    const args = `--agent-args=--iptables-sync-period=2s --self-heal-period=0 --netpol-default-deny${other}`;
    const restart = await labCli('lab', 'restart', `--dir=${DIR}`, args);
    if (restart.code !== 0) throw new Error(`lab restart failed: ${restart.stderr}${restart.stdout}`);
    const now = other ? 'nftables' : 'iptables';
    for (const n of lab.state.nodes)
      await until(async () => JSON.stringify(await held(n.netns)) === JSON.stringify(only(now)), 20000, `${n.name} on ${now} alone`);
    await expectMatrix(expectZ);
    // Back as the other tests expect it.
    const back = await labCli(
      'lab',
      'restart',
      `--dir=${DIR}`,
      `--agent-args=--iptables-sync-period=2s --self-heal-period=0 --netpol-default-deny${backendArgs}`,
    );
    if (back.code !== 0) throw new Error(`lab restart failed: ${back.stderr}${back.stdout}`);
    for (const n of lab.state.nodes)
      await until(
        async () => JSON.stringify(await held(n.netns)) === JSON.stringify(only(backend)),
        20000,
        `${n.name} on ${backend} again`,
      );
  });

  it('--netpol-default-deny: an address on the bridge that is no pod the API knows neither reaches pods nor is reached', async () => {
    // A namespace wired to node1's kube-bridge by hand, as a pod whose firewall is not written yet.
    const node1 = lab.state.nodes[0]!;
    const rogue = await Netns.create(`${PREFIX}rogue`);
    const ip = node1.podCidr.replace(/\.0\/24$/, '.250');
    const n1 = (...args: string[]) => run('ip', ['-n', node1.netns, ...args]);
    await n1('link', 'add', 'rogue0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', rogue.name);
    await n1('link', 'set', 'rogue0', 'master', 'kube-bridge', 'up');
    await rogue.ip('addr', 'add', `${ip}/24`, 'dev', 'eth0');
    await rogue.ip('link', 'set', 'eth0', 'up');
    await rogue.ip('link', 'set', 'lo', 'up');
    await rogue.ip('route', 'add', 'default', 'via', node1.podCidr.replace(/\.0\/24$/, '.1'));
    rogue.spawn('python3', [`${FIXTURES}/server.py`, 'rogue'], { logFile: `${DIR}/rogue.log` });
    try {
      const probe = async (from: string, to: string) =>
        Object.values(
          JSON.parse((await run('ip', ['netns', 'exec', from, 'python3', `${FIXTURES}/probe.py`, '1', `${to}:80/tcp`])).stdout) as Record<
            string,
            boolean
          >,
        )[0];
      // Out to a pod on its bridge and on the other node; in from both: all refused.
      expect(await probe(rogue.name, ips.get('x/a')!)).toBe(false);
      expect(await probe(rogue.name, ips.get('x/b')!)).toBe(false);
      expect(await probe(netns.get('x/c')!, ip)).toBe(false);
      expect(await probe(netns.get('x/b')!, ip)).toBe(false);
      // The server is there: from its own namespace it answers.
      expect(await probe(rogue.name, ip)).toBe(true);
      // Known pods on the same bridge still reach each other.
      expect(await probe(netns.get('x/c')!, ips.get('x/a')!)).toBe(true);
    } finally {
      await rogue.destroy();
    }
  });
});
