/**
 * Network policy at scale, side by side with the tools it drives: one NetworkPolicy of 1,000
 * ingress rules whose peers select 5,000 pods (10 namespaces x 500 pods; rule i takes the 5
 * pods of one namespace with one app label, every pod is in some rule), selecting the 50 pods
 * of this node. Measured in a namespace of its own, median of --rounds:
 *   - ours: the agent's firewall loop from the informers' objects to the kernel: the plan
 *     (controllers/network-policy.ts), the rules and sets (netpol.ts), `ipset restore` and
 *     `iptables-restore` with the read-backs (firewall.ts); then the same again (the periodic
 *     resync: nothing to write), and one pod more in one rule's selection (a pod started);
 *   - the floor: the same sets and rules fed straight to `ipset restore` and `iptables-restore`
 *     (what any implementation of this design pays the kernel tools);
 *   - the same with --use-nftables-for-netpol (firewall-nft.ts: one `nft -f` per change), and
 *     its floor, the same table fed straight to `nft -f`.
 *
 *   node dist/bench/netpol-load.js [--rules 1000] [--pods 5000] [--local 50] [--rounds 3]
 *
 * Run with `worker` as first argument it is the part that runs inside the namespace.
 */
import crypto from 'node:crypto';
import { Netns } from '../lab/netns';
import { run } from '../src/util/exec';
import { computePolicyPlan, type NetworkPolicyObject, type PolicyPodObject } from '../controllers/network-policy';
import { renderFirewall, restoreInput } from '../src/dataplane/netpol';
import { Firewall } from '../src/dataplane/firewall';
import { NftFirewall } from '../src/dataplane/firewall-nft';
import { nftRuleset } from '../src/dataplane/netpol-nft';
import { IpSets } from '../src/dataplane/ipsets';
import { option } from './args';

const NODE = 'bench-node';
const NAMESPACES = 10;

interface Sizes {
  rules: number;
  pods: number;
  local: number;
}

function cluster(s: Sizes) {
  const apps = Math.max(1, Math.round(s.rules / NAMESPACES));
  const pods: PolicyPodObject[] = Array.from({ length: s.pods }, (_, i) => {
    const ns = i % NAMESPACES;
    const j = Math.floor(i / NAMESPACES);
    return {
      metadata: { name: `p${j}`, namespace: `ns-${ns}`, labels: { app: `app-${j % apps}` } },
      // The first `local` pods of ns-0 run here.
      spec: { nodeName: ns === 0 && j < s.local ? NODE : `node-${i % 100}`, containers: [{}] },
      status: { phase: 'Running', podIP: `10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}` },
    };
  });
  const namespaces = Array.from({ length: NAMESPACES }, (_, n) => ({ metadata: { name: `ns-${n}` } }));
  const policy: NetworkPolicyObject = {
    metadata: { name: 'big', namespace: 'ns-0' },
    spec: {
      podSelector: {},
      ingress: Array.from({ length: s.rules }, (_, i) => ({
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': `ns-${i % NAMESPACES}` } },
            podSelector: { matchLabels: { app: `app-${Math.floor(i / NAMESPACES) % apps}` } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 1000 + i }],
      })),
    },
  };
  return { pods, namespaces, policies: [policy] };
}

const ms = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;

async function worker(s: Sizes): Promise<void> {
  const c = cluster(s);
  const firewall = new Firewall(run, new IpSets(run));
  const enforce = async (pods: PolicyPodObject[]) => {
    const t0 = process.hrtime.bigint();
    const plan = computePolicyPlan({ policies: c.policies, namespaces: c.namespaces, pods, nodeName: NODE });
    const planMs = ms(t0);
    const t1 = process.hrtime.bigint();
    const render = renderFirewall({ pods: plan.pods, serviceRanges: ['10.96.0.0/12'] });
    const renderMs = ms(t1);
    const r = await firewall.reconcile({ families: [4], render, forwardJump: true });
    return { totalMs: ms(t0), planMs, renderMs, ipsetMs: r.ipsetMs, iptablesMs: r.iptablesMs, written: r.written, render };
  };
  const first = await enforce(c.pods);
  const again = await enforce(c.pods);
  // A pod started that rule 0 selects: its set changes, so does the one rule naming it.
  const started: PolicyPodObject = {
    metadata: { name: 'new', namespace: 'ns-0', labels: { app: 'app-0' } },
    spec: { nodeName: 'node-1', containers: [{}] },
    status: { phase: 'Running', podIP: '10.250.0.1' },
  };
  const update = await enforce([...c.pods, started]);
  const sets = first.render.sets;
  const rules = first.render.families[4].rules.length;
  const kernelRules = (await run('iptables-save', ['-t', 'filter'])).stdout
    .split('\n')
    .filter((l) => l.startsWith('-A KUBE-ROUTER-TS-NP')).length;
  await firewall.cleanup([4]);
  // The floor: the same sets and rules straight into the tools.
  const setScript = sets.flatMap((x) => [`create ${x.name} ${x.type} family ${x.family}`, ...x.members.map((m) => `add ${x.name} ${m}`)]);
  const t2 = process.hrtime.bigint();
  await run('ipset', ['restore'], { input: `${setScript.join('\n')}\n` });
  const floorIpset = ms(t2);
  const t3 = process.hrtime.bigint();
  await run('iptables-restore', ['--noflush'], { input: restoreInput(first.render.families[4], []) });
  const floorIptables = ms(t3);
  // --use-nftables-for-netpol: the same plans through the nftables firewall, then its floor.
  const nft = new NftFirewall(run);
  const nftEnforce = async (pods: PolicyPodObject[]) => {
    const t0 = process.hrtime.bigint();
    const plan = computePolicyPlan({ policies: c.policies, namespaces: c.namespaces, pods, nodeName: NODE });
    const render = renderFirewall({ pods: plan.pods, serviceRanges: ['10.96.0.0/12'] });
    const r = await nft.reconcile({ families: [4], render, forwardJump: true, nftables: true });
    return { totalMs: ms(t0), nftMs: r.iptablesMs, written: r.written };
  };
  const nftFirst = await nftEnforce(c.pods);
  const nftAgain = await nftEnforce(c.pods);
  const nftUpdate = await nftEnforce([...c.pods, started]);
  await nft.cleanup([4]);
  const t4 = process.hrtime.bigint();
  await run('nft', ['-f', '-'], { input: nftRuleset(first.render, 4) });
  const floorNft = ms(t4);
  process.stdout.write(
    JSON.stringify({
      first: { ...first, render: undefined },
      again: { ...again, render: undefined },
      update: { ...update, render: undefined },
      floor: { ipsetMs: floorIpset, iptablesMs: floorIptables, totalMs: floorIpset + floorIptables },
      nft: { first: nftFirst, again: nftAgain, update: nftUpdate, floorMs: floorNft },
      sets: sets.length,
      members: sets.reduce((n, x) => n + x.members.length, 0),
      rules,
      kernelRules,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    }),
  );
}

type Result = {
  first: Record<string, number>;
  again: Record<string, number>;
  update: Record<string, number>;
  floor: Record<string, number>;
  nft: { first: Record<string, number>; again: Record<string, number>; update: Record<string, number>; floorMs: number };
  sets: number;
  members: number;
  rules: number;
  kernelRules: number;
  rssMiB: number;
};

async function main(): Promise<void> {
  const opt = (name: string, d: number): number => Number(option(name) ?? d);
  const sizes: Sizes = { rules: opt('rules', 1000), pods: opt('pods', 5000), local: opt('local', 50) };
  const rounds = opt('rounds', 3);
  const results: Result[] = [];
  for (let i = 0; i < rounds; i++) {
    const ns = await Netns.create(`krb-np-${crypto.randomBytes(3).toString('hex')}`);
    try {
      const r = await ns.exec(process.execPath, [__filename, 'worker', JSON.stringify(sizes)]);
      results.push(JSON.parse(r.stdout) as Result);
    } finally {
      await ns.destroy();
    }
  }
  const median = (f: (r: Result) => number): number => results.map(f).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
  const r0 = results[0]!;
  const f = (v: number): string => `${v.toFixed(0)} ms`;
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  out(
    `1 policy, ${sizes.rules} ingress rules selecting ${sizes.pods} pods, ${sizes.local} local pods isolated; median of ${rounds} rounds`,
  );
  out(`${r0.sets} ipsets (${r0.members} members), ${r0.rules} rules rendered, ${r0.kernelRules} in the kernel\n`);
  out('| step | total | plan | render | ipset restore | iptables-restore |');
  out('|---|---|---|---|---|---|');
  for (const [name, k] of [
    ['ours: enforce from scratch', 'first'],
    ['ours: again, nothing changed (resync)', 'again'],
    ['ours: one pod joins a selection', 'update'],
  ] as const)
    out(
      `| ${name} | ${f(median((r) => r[k].totalMs!))} | ${f(median((r) => r[k].planMs!))} | ${f(median((r) => r[k].renderMs!))} | ${f(median((r) => r[k].ipsetMs!))} | ${f(median((r) => r[k].iptablesMs!))} |`,
    );
  out(
    `| the tools alone (same sets and rules) | ${f(median((r) => r.floor.totalMs!))} | | | ${f(median((r) => r.floor.ipsetMs!))} | ${f(median((r) => r.floor.iptablesMs!))} |`,
  );
  out(`\nours / the tools alone, from scratch: ${(median((r) => r.first.totalMs!) / median((r) => r.floor.totalMs!)).toFixed(2)}x\n`);
  out('--use-nftables-for-netpol (the same plans):\n');
  out('| step | total | nft -f and read-back |');
  out('|---|---|---|');
  for (const [name, k] of [
    ['ours: enforce from scratch', 'first'],
    ['ours: again, nothing changed (resync)', 'again'],
    ['ours: one pod joins a selection', 'update'],
  ] as const)
    out(`| ${name} | ${f(median((r) => r.nft[k].totalMs!))} | ${f(median((r) => r.nft[k].nftMs!))} |`);
  out(`| nft -f alone (same table) | ${f(median((r) => r.nft.floorMs))} | |`);
  out(
    `\nnftables / iptables and ipset, from scratch: ${(median((r) => r.nft.first.totalMs!) / median((r) => r.first.totalMs!)).toFixed(2)}x`,
  );
  out(`worker RSS after: ${median((r) => r.rssMiB).toFixed(0)} MiB`);
}

if (process.argv[2] === 'worker') {
  worker(JSON.parse(process.argv[3]!) as Sizes).catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
