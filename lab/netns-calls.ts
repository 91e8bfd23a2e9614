/**
 * Typed operations that tests run inside a network namespace (jest cannot enter one; a child
 * process can): `node dist/lab/netns-calls.js NAME ARGS_JSON` runs one of CALLS in the namespace
 * it was started in and prints its result as JSON. Tests call them through
 * test/helpers/in-netns.ts `netnsCall`, whose arguments and result are type-checked against
 * these signatures. Each call opens what it needs (an rtnetlink socket) and closes it.
 */
import { spawnSync } from 'node:child_process';
import { Rtnl } from '../src/dataplane/rtnl';
import { KernelWatch } from '../src/dataplane/kernel-events';
import { makePieces, type PieceName, type Plan, type Results } from '../src/dataplane/pieces';
import { IpSets, type IpSetSpec } from '../src/dataplane/ipsets';
import { Iptables, type Family } from '../src/dataplane/iptables';
import { reconcileFouPorts, type FouPort } from '../src/dataplane/fou';
import { procSysctls } from '../src/dataplane/sysctl';
import { run } from '../src/util/exec';
import * as hostile from './peers/hostile';
import type { LabService } from './cluster';

/** The hostile peer's attacks (lab/peers/hostile.ts), by name. */
export type HostileAttack = 'establish' | 'resetAt' | 'resetStorm' | 'collide' | 'halfOpen' | 'sendAll';

async function withPieces<T>(cniConfPath: string, fn: (p: ReturnType<typeof makePieces>) => Promise<T>): Promise<T> {
  const rtnl = Rtnl.open();
  try {
    return await fn(makePieces({ rtnl, run, sysctls: procSysctls, cniConfPath, fouPort: 5555 }));
  } finally {
    rtnl.close();
  }
}

/** The lab in `dir`, loaded only by the calls that drive it (it is large to load under emulation). */
async function lab(dir: string) {
  const { Lab } = await import('./cluster.js');
  const l = Lab.load(dir);
  const pod = (name: string) => {
    const p = l.state.pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name} in the lab`);
    return p;
  };
  return { l, pod };
}

export const CALLS = {
  /** One data path piece's reconcile (pieces.ts), as the agent's loops run it. */
  reconcile: <N extends PieceName>(
    name: N,
    desired: NonNullable<Plan[N]>,
    cniConfPath = '/nonexistent',
  ): Promise<NonNullable<Results[N]>> =>
    withPieces(cniConfPath, (p) => (p[name].reconcile as (d: unknown) => Promise<NonNullable<Results[N]>>)(desired)),
  /** One piece's cleanup, as --cleanup-config runs it. */
  cleanup: (name: PieceName, cniConfPath = '/nonexistent'): Promise<string[]> => withPieces(cniConfPath, (p) => p[name].cleanup()),
  ipsetsDrifted: (specs: IpSetSpec[]): Promise<boolean> => new IpSets().drifted(specs),
  iptablesOurs: (families: Family[]): Promise<string[]> => new Iptables().ours(families),
  fouPorts: (want: FouPort[], managed: number[]): Promise<string[]> => reconcileFouPorts(want, managed),
  /** Lab operations a test drives from outside the lab's own commands (pods, services, Nodes). */
  labServePodWeb: async (dir: string, pods: string[]): Promise<void> => {
    const { l, pod } = await lab(dir);
    await Promise.all(pods.map((p) => l.servePodWeb(pod(p))));
  },
  labApplyService: async (dir: string, s: Omit<LabService, 'pods'> & { pods: string[] }): Promise<void> => {
    const { l, pod } = await lab(dir);
    await l.applyService({ ...s, pods: s.pods.map(pod) });
  },
  labDeleteService: async (dir: string, name: string): Promise<void> => (await lab(dir)).l.deleteService(name),
  labStopAgent: async (dir: string, node: string): Promise<void> => {
    const { l } = await lab(dir);
    await l.stopAgent(l.node(node));
  },
  labNode: async (dir: string, node: string, op: 'deleteNode' | 'createNode'): Promise<void> => {
    const { l } = await lab(dir);
    await l[op](l.node(node));
  },
  /** One attack of the hostile peer, from its namespace (the chaos test). */
  hostile: (attack: HostileAttack, args: unknown[]): Promise<unknown> =>
    (hostile[attack] as (...a: unknown[]) => Promise<unknown>)(...args),
  /** Many requests at once on one socket: dumps of routes, links, addresses and a route change. */
  rtnlConcurrency: async (route: { dst: string; gateway: string }): Promise<number[]> => {
    const rtnl = Rtnl.open();
    try {
      const work: Promise<number>[] = [];
      for (let i = 0; i < 20; i++) {
        work.push(
          rtnl.routes().then((r) => r.length),
          rtnl.links().then((l) => l.length),
          rtnl.addresses().then((a) => a.length),
        );
      }
      work.push(rtnl.replaceRoute({ ...route, protocol: 44, table: 254 }).then(() => 1));
      return await Promise.all(work);
    } finally {
      rtnl.close();
    }
  },
  /** Routes of both families in all tables, counted by protocol number, as the metrics count them. */
  rtnlRouteCounts: async (): Promise<Record<string, number>> => {
    const rtnl = Rtnl.open();
    try {
      return Object.fromEntries(await rtnl.routeCountsByProtocol());
    } finally {
      rtnl.close();
    }
  },
  /**
   * A burst of kernel events while the process is busy: our rtnetlink socket and event watch
   * open, then `ip -batch FILE` run synchronously (the event loop blocked, the kernel queueing
   * an event per route). Returns whether the sockets were hardened and, after the burst, a dump
   * through the same socket (it must still work: the process must still be here to answer).
   */
  netlinkBurst: async (batchFile: string): Promise<{ unhardened: (string | null)[]; routesAfter: number }> => {
    const rtnl = Rtnl.open();
    const watch = new KernelWatch(
      false,
      () => undefined,
      () => undefined,
    );
    try {
      spawnSync('ip', ['-batch', batchFile], { stdio: 'ignore' });
      // Let the queued events (or the error an overrun leaves) reach the sockets.
      await new Promise((r) => setTimeout(r, 500));
      return { unhardened: [rtnl.unhardened ?? null, watch.unhardened ?? null], routesAfter: (await rtnl.routes()).length };
    } finally {
      watch.close();
      rtnl.close();
    }
  },
};

export type NetnsCalls = typeof CALLS;

if (require.main === module) {
  const [name, args] = process.argv.slice(2);
  const call = CALLS[name as keyof NetnsCalls] as ((...a: unknown[]) => Promise<unknown>) | undefined;
  if (!call) {
    process.stderr.write(`no such call: ${name}\n`);
    process.exit(2);
  }
  call(...(JSON.parse(args ?? '[]') as unknown[])).then(
    (v) => {
      process.stdout.write(JSON.stringify(v === undefined ? null : v));
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(String(e?.stack ?? e));
      process.exit(1);
    },
  );
}
