/**
 * The load-balancer allocator loop (--run-loadbalancer): the agent holding the Lease
 * kube-router-lballoc (one in the cluster) gives LoadBalancer Services addresses from
 * --loadbalancer-ip-range (controllers/lb-alloc.ts) and writes them to status.loadBalancer
 * through the status subresource. Runs on Service changes, on winning the Lease and every
 * --loadbalancer-sync-period. Each write reads the Service again and adds only the families it
 * still lacks, retrying on conflict, so an event that overtakes our own write never gives a
 * Service a second address.
 */
import fs from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { Logger } from '../../bgp';
import type { AgentConfig } from '../config/agent-config';
import type { ClusterWatch } from '../../controllers/cluster-watch';
import type { Problems } from '../../controllers/problems';
import { LbAllocator, type LbServiceObject } from '../../controllers/lb-alloc';
import { requestJson } from '../../controllers/watch';
import { ipFamily, isIp } from '../../net';
import { SerialTask } from '../util/serial-task';
import { LeaseElector } from './lease';

export const LB_LEASE = 'kube-router-lballoc';
const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
/** client-go's retry.DefaultRetry: 5 attempts. */
const CONFLICT_RETRIES = 5;

/** Where the Lease lives, as kube-router finds it: $POD_NAMESPACE, the service account's namespace, else kube-system. */
export function leaseNamespace(env: NodeJS.ProcessEnv = process.env): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return fs.readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || 'kube-system';
  } catch {
    return 'kube-system';
  }
}

export class LbLoop {
  readonly task: SerialTask;
  private readonly elector: LeaseElector;
  private readonly allocator: LbAllocator;
  private timer: NodeJS.Timeout | undefined;
  /** Addresses this agent wrote, "ns/name ip", for the status. */
  readonly given: string[] = [];

  constructor(
    private readonly config: AgentConfig,
    private readonly kc: KubeConfig,
    private readonly cluster: ClusterWatch,
    private readonly problems: Problems,
    private readonly log: Logger,
    observe?: (name: string, ms: number, failed: boolean) => void,
  ) {
    this.allocator = new LbAllocator(config.loadBalancerIpRanges, config.loadBalancerDefaultClass);
    this.task = new SerialTask('loadbalancer', () => this.run(), log, observe);
    // kube-router needs $POD_NAME; a DaemonSet's node name is as unique.
    const identity = process.env.POD_NAME || config.nodeName;
    this.elector = new LeaseElector(kc, leaseNamespace(), LB_LEASE, identity, log, (leading) => leading && this.task.trigger());
  }

  get leading(): boolean {
    return this.elector.isLeader;
  }

  start(): void {
    this.cluster.services.on('changed', () => this.task.trigger());
    this.timer = setInterval(() => this.task.trigger(), this.config.loadBalancerSyncPeriodMs);
    this.elector.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.task.stop();
    await this.task.idle();
    await this.elector.stop();
  }

  private async run(): Promise<void> {
    if (!this.elector.isLeader || !this.cluster.services.synced) return;
    const plan = this.allocator.plan(this.cluster.services.list() as LbServiceObject[]);
    for (const p of plan.problems) this.problems.report(`service/${p.service}`, 'status.loadBalancer', `cannot allocate: ${p.problem}`);
    for (const a of plan.allocations) await this.write(a.namespace, a.name, a.ips);
  }

  /** Adds the addresses of families the Service still lacks to its status (read again first; retried on conflict). */
  private async write(namespace: string, name: string, ips: string[]): Promise<void> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`;
    for (let attempt = 1; attempt <= CONFLICT_RETRIES; attempt++) {
      const got = await requestJson(this.kc, 'GET', path, undefined, 10000);
      if (got.status === 404) return;
      if (got.status !== 200) throw new Error(`GET ${path}: HTTP ${got.status}`);
      const svc = got.body as LbServiceObject & { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } };
      const ingress = svc.status?.loadBalancer?.ingress ?? [];
      const have = new Set(ingress.flatMap((i) => (i.ip && isIp(i.ip) ? [ipFamily(i.ip)] : [])));
      const add = ips.filter((ip) => !have.has(ipFamily(ip)));
      if (!add.length) return;
      const body = {
        ...svc,
        status: { ...svc.status, loadBalancer: { ...svc.status?.loadBalancer, ingress: [...ingress, ...add.map((ip) => ({ ip }))] } },
      };
      const put = await requestJson(this.kc, 'PUT', `${path}/status`, body, 10000);
      if (put.status === 200) {
        for (const ip of add) this.given.push(`${namespace}/${name} ${ip}`);
        this.log.info({ service: `${namespace}/${name}`, ips: add }, 'allocated load-balancer addresses');
        return;
      }
      if (put.status !== 409) throw new Error(`PUT ${path}/status: HTTP ${put.status}`);
    }
    throw new Error(`PUT ${path}/status: still conflicting after ${CONFLICT_RETRIES} attempts`);
  }
}
