/**
 * The informers the agent runs: Nodes, Services, EndpointSlices, and this node's Pods (a field
 * selector keeps the rest off the wire). Any change anywhere fires one coalesced 'changed'.
 */
import { EventEmitter } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Informer, InformerLogger } from './informer';
import type { NodeObject } from './nodes';
import type { EndpointSliceObject, ServiceObject } from './services';
import type { PodObject } from './pods';

/**
 * Everything the agent asks of the API server: its informers list and watch these, nothing
 * else is read or written. The ClusterRole in daemonset/ grants exactly this (tested), and the
 * lab's API server records what agents really ask for (tested against this too).
 */
export const API_ACCESS: readonly { apiGroup: string; resource: string; verbs: readonly string[] }[] = [
  { apiGroup: '', resource: 'nodes', verbs: ['list', 'watch'] },
  { apiGroup: '', resource: 'pods', verbs: ['list', 'watch'] },
  { apiGroup: '', resource: 'services', verbs: ['list', 'watch'] },
  { apiGroup: 'discovery.k8s.io', resource: 'endpointslices', verbs: ['list', 'watch'] },
];

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
  readonly pods: Informer<KubernetesObject & PodObject>;
  private pending = false;

  constructor(kc: KubeConfig, nodeName: string, log: InformerLogger) {
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
    this.pods = new Informer(kc, { name: 'pods', path: '/api/v1/pods', fieldSelector: `spec.nodeName=${nodeName}`, log });
    for (const i of this.all()) i.on('changed', () => this.signal());
  }

  all(): Informer<KubernetesObject>[] {
    return [this.nodes, this.services, this.endpointSlices, this.pods] as Informer<KubernetesObject>[];
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
