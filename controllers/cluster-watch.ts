/**
 * The informers the agent runs: Nodes, Services, EndpointSlices, and Pods: this node's (a field
 * selector keeps the rest off the wire), or with the firewall every node's (policies select
 * remote pods as peers), with NetworkPolicies and Namespaces. Any change anywhere fires one
 * coalesced 'changed'.
 */
import { EventEmitter } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Informer, InformerLogger } from './informer';
import type { NodeObject } from './nodes';
import type { EndpointSliceObject, ServiceObject } from './services';
import type { PodObject } from './pods';
import type { NamespaceObject, NetworkPolicyObject, PolicyPodObject } from './network-policy';

/**
 * Everything the agent asks of the API server: its informers list and watch these; the
 * firewall's two only with --run-firewall (on by default, as in kube-router); with
 * --run-loadbalancer it also reads a Service and writes its status, and holds the Lease that
 * elects the one allocator. The ClusterRoles in daemonset/ grant exactly this for their flags
 * (tested), and the lab's API server records what agents really ask for (tested against this too).
 */
export function apiAccess(o: {
  firewall: boolean;
  loadBalancer?: boolean;
}): { apiGroup: string; resource: string; verbs: readonly string[] }[] {
  return [
    { apiGroup: '', resource: 'nodes', verbs: ['list', 'watch'] },
    { apiGroup: '', resource: 'pods', verbs: ['list', 'watch'] },
    { apiGroup: '', resource: 'services', verbs: o.loadBalancer ? ['get', 'list', 'watch'] : ['list', 'watch'] },
    { apiGroup: 'discovery.k8s.io', resource: 'endpointslices', verbs: ['list', 'watch'] },
    ...(o.firewall
      ? [
          { apiGroup: '', resource: 'namespaces', verbs: ['list', 'watch'] },
          { apiGroup: 'networking.k8s.io', resource: 'networkpolicies', verbs: ['list', 'watch'] },
        ]
      : []),
    ...(o.loadBalancer
      ? [
          { apiGroup: '', resource: 'services/status', verbs: ['update'] },
          { apiGroup: 'coordination.k8s.io', resource: 'leases', verbs: ['create', 'get', 'update'] },
        ]
      : []),
  ];
}

type Pod = KubernetesObject & PodObject & PolicyPodObject;

/**
 * What of a Pod the controllers read: with every node's pods cached, the rest (volumes, env,
 * images, managed fields) would be most of the agent's memory.
 */
function slimPod(p: Pod): Pod {
  const spec = p.spec as (Pod['spec'] & Record<string, unknown>) | undefined;
  const meta = p.metadata as Record<string, unknown> | undefined;
  if (meta) for (const k of ['managedFields', 'annotations', 'ownerReferences']) delete meta[k];
  if (spec) {
    const keep = ['nodeName', 'hostNetwork', 'containers', 'terminationGracePeriodSeconds'];
    for (const k of Object.keys(spec)) if (!keep.includes(k)) delete spec[k];
    spec.containers = (spec.containers ?? []).map((c) => ({ ...(c.ports ? { ports: c.ports } : {}) }));
  }
  const status = p.status as Record<string, unknown> | undefined;
  if (status) {
    for (const k of Object.keys(status)) if (!['phase', 'podIP', 'podIPs', 'conditions', 'containerStatuses'].includes(k)) delete status[k];
    const cs = status.containerStatuses as { containerID?: string }[] | undefined;
    if (Array.isArray(cs)) status.containerStatuses = cs.slice(0, 1).map((c) => (c?.containerID ? { containerID: c.containerID } : {}));
  }
  return p;
}

export interface InformerStatus {
  name: string;
  synced: boolean;
  lists: number;
  restarts: number;
  lastError?: string;
  objects: number;
}

export class ClusterWatch extends EventEmitter {
  readonly nodes: Informer<KubernetesObject & NodeObject>;
  readonly services: Informer<KubernetesObject & ServiceObject>;
  readonly endpointSlices: Informer<KubernetesObject & EndpointSliceObject>;
  readonly pods: Informer<Pod>;
  /** With the firewall only. */
  readonly networkPolicies: Informer<KubernetesObject & NetworkPolicyObject> | undefined;
  readonly namespaces: Informer<KubernetesObject & NamespaceObject> | undefined;
  private pending = false;

  constructor(kc: KubeConfig, nodeName: string, log: InformerLogger, opts: { firewall?: boolean } = {}) {
    super();
    // A Node's status carries its images and volumes: hundreds of strings per node that no
    // controller reads, multiplied by the cluster's size.
    const transform = (n: KubernetesObject & NodeObject): KubernetesObject & NodeObject => {
      const status = (n as { status?: Record<string, unknown> }).status;
      if (status) for (const k of ['images', 'volumesInUse', 'volumesAttached', 'nodeInfo']) delete status[k];
      return n;
    };
    this.nodes = new Informer(kc, { name: 'nodes', path: '/api/v1/nodes', transform, log });
    this.services = new Informer(kc, { name: 'services', path: '/api/v1/services', log });
    this.endpointSlices = new Informer(kc, { name: 'endpointslices', path: '/apis/discovery.k8s.io/v1/endpointslices', log });
    this.pods = opts.firewall
      ? new Informer(kc, { name: 'pods', path: '/api/v1/pods', transform: slimPod, log })
      : new Informer(kc, { name: 'pods', path: '/api/v1/pods', fieldSelector: `spec.nodeName=${nodeName}`, log });
    if (opts.firewall) {
      this.networkPolicies = new Informer(kc, {
        name: 'networkpolicies',
        path: '/apis/networking.k8s.io/v1/networkpolicies',
        log,
      });
      this.namespaces = new Informer(kc, { name: 'namespaces', path: '/api/v1/namespaces', log });
    }
    for (const i of this.all()) i.on('changed', () => this.signal());
  }

  all(): Informer<KubernetesObject>[] {
    return [this.nodes, this.services, this.endpointSlices, this.pods, this.networkPolicies, this.namespaces].filter(
      (i) => i !== undefined,
    ) as Informer<KubernetesObject>[];
  }

  /** What the firewall's plan is computed from: Pods, NetworkPolicies, Namespaces (none without the firewall). */
  policyInputs(): Informer<KubernetesObject>[] {
    if (!this.networkPolicies || !this.namespaces) return [];
    return [this.pods, this.networkPolicies, this.namespaces] as Informer<KubernetesObject>[];
  }

  get synced(): boolean {
    return this.all().every((i) => i.synced);
  }

  async start(): Promise<void> {
    await Promise.all(this.all().map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((i) => i.stop()));
  }

  status(): InformerStatus[] {
    return this.all().map((i) => {
      const s: InformerStatus = { name: i.name, synced: i.synced, lists: i.lists, restarts: i.restarts, objects: i.size };
      if (i.lastError) s.lastError = i.lastError;
      return s;
    });
  }

  private signal(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.emit('changed');
    });
  }
}
