/**
 * Installing kernel routes, side by side: our route reconciler (rtnetlink on the `netlink`
 * package's socket, up to 256 route requests per datagram, one dump decoded by hand) against
 * `ip -batch` (iproute2, one request and acknowledgement at a time), in a namespace
 * of its own. Measured, median of --rounds: install N routes, reconcile again with nothing to do
 * (the periodic sync's cost: one dump and a compare), and remove them all. Prints a table and
 * the ratios.
 *
 *   node dist/bench/netlink-routes.js [--routes 10000] [--rounds 3]
 *
 * Run with `worker` as first argument it is the part that runs inside the namespace.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { Netns } from '../lab/netns';
import { run } from '../src/util/exec';
import { Rtnl } from '../src/dataplane/rtnl';
import { RouteReconciler, DesiredRoute, ROUTE_PROTOCOL } from '../src/dataplane/routes';
import { option } from './args';

const GATEWAY = '10.1.0.2';

function desired(n: number): DesiredRoute[] {
  return Array.from({ length: n }, (_, i) => ({ dst: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, gateway: GATEWAY }));
}

async function worker(n: number): Promise<void> {
  const routes = desired(n);
  const rtnl = Rtnl.open();
  const r = new RouteReconciler(rtnl);
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const t = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const install = await time(() => r.reconcile(routes));
  const noop = await time(() => r.reconcile(routes));
  const remove = await time(() => r.reconcile([]));
  rtnl.close();
  process.stdout.write(JSON.stringify({ install, noop, remove, rssMiB: process.memoryUsage().rss / 2 ** 20 }));
}

async function main(): Promise<void> {
  const opt = (name: string, d: number): number => Number(option(name) ?? d);
  const n = opt('routes', 10000);
  const rounds = opt('rounds', 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-bench-nl-'));
  const ns = await Netns.create(`krb-nl-${crypto.randomBytes(3).toString('hex')}`);
  try {
    await ns.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    await ns.ip('addr', 'add', '10.1.0.1/16', 'dev', 'eth0');
    await ns.ip('link', 'set', 'eth0', 'up');
    await ns.ip('link', 'set', 'eth1', 'up');
    const add = path.join(dir, 'add.batch');
    const del = path.join(dir, 'del.batch');
    fs.writeFileSync(
      add,
      desired(n)
        .map((d) => `route add ${d.dst} via ${d.gateway} proto ${ROUTE_PROTOCOL}`)
        .join('\n') + '\n',
    );
    fs.writeFileSync(
      del,
      desired(n)
        .map((d) => `route del ${d.dst} proto ${ROUTE_PROTOCOL}`)
        .join('\n') + '\n',
    );
    const count = async (): Promise<number> =>
      (await ns.ip('route', 'show', 'proto', String(ROUTE_PROTOCOL))).stdout.split('\n').filter(Boolean).length;
    const ours: { install: number; noop: number; remove: number; rssMiB: number }[] = [];
    const ip: { install: number; noop: number; remove: number }[] = [];
    const ms = async (fn: () => Promise<unknown>): Promise<number> => {
      const t = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    for (let i = 0; i < rounds; i++) {
      const r = await ns.exec(process.execPath, [__filename, 'worker', String(n)]);
      ours.push(JSON.parse(r.stdout));
      if ((await count()) !== 0) throw new Error('our reconciler left routes behind');
      const install = await ms(() => run('ip', ['-n', ns.name, '-batch', add]));
      if ((await count()) !== n) throw new Error(`ip -batch installed ${await count()} of ${n}`);
      // "Nothing to do" for iproute2: the same dump our no-op reconcile makes.
      const noop = await ms(() => ns.ip('route', 'show', 'proto', String(ROUTE_PROTOCOL)));
      const remove = await ms(() => run('ip', ['-n', ns.name, '-batch', del]));
      ip.push({ install, noop, remove });
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const row = (name: string, xs: { install: number; noop: number; remove: number }[]) => ({
      name,
      install: median(xs.map((x) => x.install)),
      noop: median(xs.map((x) => x.noop)),
      remove: median(xs.map((x) => x.remove)),
    });
    const a = row('kube-router-ts (batched rtnetlink)', ours);
    const b = row('ip -batch (iproute2)', ip);
    const f = (v: number): string => `${v.toFixed(0)} ms`;
    process.stdout.write(`${n} IPv4 routes, median of ${rounds} rounds\n\n`);
    process.stdout.write(
      '| method | install | reconcile, nothing to do | remove all | ours / this (install, remove) |\n|---|---|---|---|---|\n',
    );
    for (const r of [a, b])
      process.stdout.write(
        `| ${r.name} | ${f(r.install)} | ${f(r.noop)} | ${f(r.remove)} | ${(a.install / r.install).toFixed(2)}x, ${(a.remove / r.remove).toFixed(2)}x |\n`,
      );
    process.stdout.write(`\nour worker's RSS after: ${median(ours.map((x) => x.rssMiB)).toFixed(0)} MiB\n`);
  } finally {
    await ns.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'worker') {
  worker(Number(process.argv[3])).catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
}
