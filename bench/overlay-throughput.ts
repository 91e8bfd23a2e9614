/**
 * Pod-to-pod TCP throughput (iperf3) across two lab nodes, side by side: a bare veth pair
 * between two namespaces (the floor any data path pays), then a 2-node lab whose agents route
 * the pod CIDRs plainly, through ipip tunnels (--overlay-type=full) and through GUE/fou
 * tunnels. Runs in the VM (lab/vm/), since this host's kernel has neither ipip nor fou;
 * under emulation the absolute numbers mean little, the ratios are the result.
 *
 *   npm run build && node dist/bench/overlay-throughput.js [--seconds 10] [--rounds 3]
 */
import fs from 'node:fs';
import path from 'node:path';
import { Vm, vmUnavailable } from '../lab/vm/vm';
import { repoRoot } from '../lab/repo';
import type { LabStatus } from '../lab/status';

const PREFIX = 'krb-';
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive whole number`);
  return v;
}

interface Row {
  path: string;
  mtu: number;
  gbits: number[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** iperf3 from netns `client` to `serverIp` (server already running), in Gbit/s received. */
async function iperf(vm: Vm, client: string, serverIp: string, seconds: number): Promise<number> {
  const r = await vm.run(`ip netns exec ${client} iperf3 -J -c ${serverIp} -t ${seconds} -O 1`, { timeoutMs: (seconds + 60) * 1000 });
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second / 1e9;
}

async function measure(
  vm: Vm,
  label: string,
  client: string,
  server: string,
  serverIp: string,
  mtu: number,
  o: { seconds: number; rounds: number },
): Promise<Row> {
  // One server (daemonized) for all rounds, stopped with the namespace's processes afterwards.
  await vm.run(`ip netns exec ${server} iperf3 -s -D --logfile /dev/null`);
  const row: Row = { path: label, mtu, gbits: [] };
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < o.rounds; i++) {
    row.gbits.push(await iperf(vm, client, serverIp, o.seconds));
  }
  await vm.run(`ip netns pids ${server} | xargs -r kill 2>/dev/null || true`);
  process.stdout.write(`  ${label}: ${row.gbits.map((g) => g.toFixed(2)).join(', ')} Gbit/s\n`);
  return row;
}

async function main(): Promise<void> {
  const o = { seconds: arg('seconds', 10), rounds: arg('rounds', 3) };
  const why = vmUnavailable();
  if (why) throw new Error(`the VM cannot run here: ${why}`);
  const repo = repoRoot();
  const bundle = path.join(repo, 'dist', 'kube-router-ts.js');
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run "npm run build"`);
  const scratch = `/run/kube-router-ts/bench-overlay-${process.pid}`;
  // The VM's own /run (tmpfs), not the 9p scratch share: unix sockets do not work on 9p.
  const dir = '/run/kube-router-ts/bench-overlay-lab';
  const lab = async (args: string): Promise<void> => {
    const r = await vm.run(`cd ${q(repo)} && node ${q(bundle)} lab ${args} --dir=${dir}`, { allowFail: true, timeoutMs: 600000 });
    if (r.code !== 0) throw new Error(`lab ${args} in the VM failed (${r.code}): ${r.stderr}${r.stdout}`);
  };
  const vm = await Vm.boot({ scratch, memoryMiB: 4096 });
  const rows: Row[] = [];
  try {
    process.stdout.write(`VM booted in ${(vm.bootMs / 1000).toFixed(1)} s; iperf3 ${o.seconds} s x ${o.rounds} per path\n`);
    await vm.run(`ip netns add ${PREFIX}a && ip netns add ${PREFIX}b
ip -n ${PREFIX}a link add eth0 type veth peer name eth0 netns ${PREFIX}b
ip -n ${PREFIX}a addr add 10.99.0.1/24 dev eth0 && ip -n ${PREFIX}b addr add 10.99.0.2/24 dev eth0
ip -n ${PREFIX}a link set eth0 up && ip -n ${PREFIX}b link set eth0 up
ip -n ${PREFIX}a link set lo up && ip -n ${PREFIX}b link set lo up`);
    rows.push(await measure(vm, 'bare veth pair', `${PREFIX}a`, `${PREFIX}b`, '10.99.0.2', 1500, o));
    await vm.run(`ip netns del ${PREFIX}a; ip netns del ${PREFIX}b`);

    await lab(`up --nodes 2 --pods 1 --prometheus=false --prefix=${PREFIX}`);
    const paths: [string, string | undefined][] = [
      ['routed (plain route via the node IP)', undefined],
      ['ipip tunnel (--overlay-type=full)', '--overlay-type=full'],
      ['fou/GUE tunnel (--overlay-type=full --overlay-encap=fou)', '--overlay-type=full --overlay-encap=fou'],
    ];
    for (const [label, agentArgs] of paths) {
      if (agentArgs) await lab(`restart --all-at-once --agent-args=${q(agentArgs)}`);
      const s = JSON.parse(
        (await vm.run(`cd ${q(repo)} && node ${q(bundle)} lab status --json --dir=${dir}`, { allowFail: true })).stdout,
      ) as LabStatus;
      if (!s.ok) throw new Error(`lab not converged with ${agentArgs ?? 'defaults'}: ${JSON.stringify(s.pings.filter((p) => !p.ok))}`);
      const [from, to] = [s.pods.find((p) => p.node === 'node1')!, s.pods.find((p) => p.node === 'node2')!];
      const tunnel = s.nodes.find((n) => n.name === 'node1')!.tunnels[0];
      rows.push(await measure(vm, label, from.netns, to.netns, to.ip!, tunnel?.mtu ?? 1500, o));
    }
    await lab(`down --prefix=${PREFIX}`);
  } finally {
    await vm.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  const base = median(rows[0]!.gbits);
  process.stdout.write('\n| path | MTU | Gbit/s (median) | runs | / bare veth |\n|---|---|---|---|---|\n');
  for (const r of rows) {
    const m = median(r.gbits);
    process.stdout.write(
      `| ${r.path} | ${r.mtu} | ${m.toFixed(2)} | ${r.gbits.map((g) => g.toFixed(2)).join(', ')} | ${(m / base).toFixed(2)} |\n`,
    );
  }
  const routed = median(rows[1]!.gbits);
  process.stdout.write(
    `\noverlay cost against routed: ipip ${((1 - median(rows[2]!.gbits) / routed) * 100).toFixed(0)}%, fou ${((1 - median(rows[3]!.gbits) / routed) * 100).toFixed(0)}%\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`overlay-throughput: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
