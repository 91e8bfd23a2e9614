/**
 * What a cluster's kubelets and controller manager do for objects users apply with kubectl,
 * as the lab needs it (`kube-router-ts lab controllers`, started by `lab up`):
 * - kubelet: a Pod gets a node (its spec.nodeName, else the node with the fewest pods), a
 *   network namespace wired by the CNI plugins from that node agent's config, its IPs and
 *   Running in its status, and its first container's command (with args and env) run in that
 *   namespace on the host's filesystem. A deleted Pod's processes, network and namespace go.
 * - Service IP allocator: a Service without a cluster IP gets one (10.96.0.0/16), NodePorts get
 *   node ports (30000-32767).
 * - endpoint-slice controller: a Service with a selector gets one EndpointSlice of the Running
 *   Pods it selects, named ports resolved per pod.
 * Level-triggered: every tick compares the API's objects with what was done, so a missed
 * change is caught on the next one. Pods the lab itself made (`lab up`'s) are left alone.
 */
import fs from 'node:fs';
import { writeFileAtomic } from '../src/util/write-atomic';
import path from 'node:path';
import { Lab } from './cluster';
import { Netns } from './netns';
import { cniAdd, cniDel, CniTarget } from './cni-runtime';
import { ipFamily } from '../net';
import { STATIC_ANNOTATION, runningPodStatus, type LabNode } from './layout';
import { startLabCri } from './cri';

const MANAGED_BY = 'lab-controllers.kube-router-ts';
const TICK_MS = 500;
/** Collections whose objects go with their namespace. */
const NAMESPACED = [
  '/api/v1/pods',
  '/api/v1/services',
  '/api/v1/endpoints',
  '/api/v1/events',
  '/apis/discovery.k8s.io/v1/endpointslices',
  '/apis/networking.k8s.io/v1/networkpolicies',
  '/apis/coordination.k8s.io/v1/leases',
];
const RETRY_MS = 10000;

interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}
interface Pod {
  metadata: Meta;
  spec?: { nodeName?: string; containers?: Container[] };
  status?: { phase?: string; podIP?: string };
}
interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  nodePort?: number;
}
interface Service {
  metadata: Meta;
  spec?: { type?: string; clusterIP?: string; selector?: Record<string, string>; ports?: ServicePort[] };
}
interface Slice {
  metadata: Meta;
  endpoints?: unknown[];
  ports?: unknown[];
}
interface List<T> {
  items: T[];
}

/** A pod this kubelet wired: where it lives, to undo it. */
interface Wired {
  uid: string;
  node: string;
  netns: string;
  containerId: string;
}

const key = (m: Meta): string => `${m.namespace ?? ''}/${m.name}`;
/** The file where the kubelet keeps the pods it wired (in the lab's directory). */
const WIRED_FILE = 'controllers.json';
const isoNow = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class LabControllers {
  private readonly wired = new Map<string, Wired>();
  /** Pods whose wiring failed, and when to try again. */
  private readonly retryAt = new Map<string, number>();
  private readonly stateFile: string;
  /** Namespaces as of the last tick: one missing now was deleted. */
  private seenNamespaces = new Set<string>();

  constructor(
    private readonly lab: Lab,
    private readonly log: (line: string) => void,
  ) {
    this.stateFile = path.join(lab.state.dir, WIRED_FILE);
    try {
      for (const [k, w] of Object.entries(JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as Record<string, Wired>))
        this.wired.set(k, w);
    } catch {
      // First start: nothing wired yet.
    }
  }

  /** The network namespace of a container (lab/cri.ts): a pod this kubelet wired, or one the lab made. */
  netnsOfContainer(id: string): string | undefined {
    for (const w of this.wired.values()) if (w.containerId === id) return w.netns;
    try {
      return Lab.load(this.lab.state.dir).state.pods.find((p) => p.containerId === id)?.netns;
    } catch {
      return undefined;
    }
  }

  /** Runs ticks until `stop` says so. */
  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      try {
        await this.tick();
      } catch (e) {
        this.log(`tick failed: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  }

  async tick(): Promise<void> {
    const api = this.lab.api;
    await this.namespaces();
    const pods = (await api.get<List<Pod>>('/api/v1/pods')).items;
    await this.kubelet(pods);
    const services = (await api.get<List<Service>>('/api/v1/services')).items;
    const used = {
      ips: new Set(services.flatMap((s) => (s.spec?.clusterIP ? [s.spec.clusterIP] : []))),
      nodePorts: new Set(services.flatMap((s) => (s.spec?.ports ?? []).map((p) => p.nodePort ?? 0))),
    };
    for (const s of services) await this.allocate(s, used);
    const slices = (await api.get<List<Slice>>('/apis/discovery.k8s.io/v1/endpointslices')).items;
    await this.endpointSlices(services, (await api.get<List<Pod>>('/api/v1/pods')).items, slices);
  }

  /**
   * The namespace controller's part: what lived in a namespace that is gone goes too (the API
   * server removes a deleted Namespace at once; a real one waits in Terminating meanwhile).
   */
  private async namespaces(): Promise<void> {
    const api = this.lab.api;
    const now = new Set((await api.get<List<{ metadata: Meta }>>('/api/v1/namespaces')).items.map((n) => n.metadata.name));
    const gone = [...this.seenNamespaces].filter((n) => !now.has(n));
    this.seenNamespaces = now;
    for (const ns of gone) {
      for (const collection of NAMESPACED) {
        const at = collection.lastIndexOf('/');
        const base = `${collection.slice(0, at)}/namespaces/${ns}${collection.slice(at)}`;
        for (const o of (await api.get<List<{ metadata: Meta }>>(base)).items) await api.delete(`${base}/${o.metadata.name}`);
      }
      this.log(`namespace ${ns}: gone, its objects deleted`);
    }
  }

  private ownedByLab(p: Pod): boolean {
    return (
      p.metadata.annotations?.[STATIC_ANNOTATION] !== undefined ||
      this.lab.state.pods.some((x) => x.name === p.metadata.name && x.namespace === p.metadata.namespace)
    );
  }

  private async kubelet(pods: Pod[]): Promise<void> {
    const present = new Map(pods.filter((p) => !this.ownedByLab(p)).map((p) => [key(p.metadata), p]));
    for (const [k, w] of [...this.wired]) {
      const p = present.get(k);
      if (!p || p.metadata.uid !== w.uid) await this.teardown(k, w);
    }
    for (const [k, p] of present) {
      if (this.wired.has(k) || (this.retryAt.get(k) ?? 0) > Date.now()) continue;
      try {
        await this.wire(k, p);
        this.retryAt.delete(k);
      } catch (e) {
        this.retryAt.set(k, Date.now() + RETRY_MS);
        this.log(`pod ${k}: ${(e as Error).message}`);
        await this.lab.api
          .mergePatch(`/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/status`, {
            status: { phase: 'Pending', reason: 'FailedCreatePodSandBox', message: (e as Error).message },
          })
          .catch(() => undefined);
      }
    }
  }

  /** The node for a pod: the one it names, else the one with the fewest pods. */
  private async place(p: Pod): Promise<LabNode> {
    const named = p.spec?.nodeName;
    if (named) {
      const n = this.lab.state.nodes.find((x) => x.name === named);
      if (!n) throw new Error(`node ${named} is not a lab node`);
      return n;
    }
    const count = (n: LabNode): number =>
      [...this.wired.values()].filter((w) => w.node === n.name).length + this.lab.state.pods.filter((x) => x.node === n.name).length;
    const n = [...this.lab.state.nodes].sort((a, b) => count(a) - count(b))[0];
    if (!n) throw new Error('the lab has no nodes');
    await this.lab.api.mergePatch(`/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`, { spec: { nodeName: n.name } });
    return n;
  }

  private target(n: LabNode, netns: string, containerId: string, p: Meta): CniTarget {
    return {
      confList: n.cniConfList,
      nodeNetns: n.netns,
      podNetns: netns,
      containerId,
      podName: p.name,
      podNamespace: p.namespace ?? 'default',
      stateDir: n.cniState,
    };
  }

  private async wire(k: string, p: Pod): Promise<void> {
    const n = await this.place(p);
    const uid = p.metadata.uid ?? '';
    const containerId = `kubelet-${uid.replace(/-/g, '').slice(0, 24)}`;
    const netns = `${this.lab.state.prefix}k-${uid.slice(0, 8)}`;
    if (!fs.existsSync(`/run/netns/${netns}`)) await Netns.create(netns);
    const w: Wired = { uid, node: n.name, netns, containerId };
    this.wired.set(k, w);
    this.save();
    const result = await cniAdd(this.target(n, netns, containerId, p.metadata));
    const ips = (result.ips ?? []).map((x) => x.address.split('/')[0]!);
    const ip = ips.find((x) => ipFamily(x) === 4) ?? ips[0];
    if (!ip) throw new Error(`CNI ADD gave no address: ${JSON.stringify(result)}`);
    const c = p.spec?.containers?.[0];
    const argv = [...(c?.command ?? []), ...(c?.args ?? [])];
    if (argv.length) {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: '/root',
        HOSTNAME: p.metadata.name,
      };
      for (const e of c?.env ?? []) env[e.name] = e.value ?? '';
      const logDir = path.join(this.lab.state.dir, 'pods');
      fs.mkdirSync(logDir, { recursive: true });
      Netns.attach(netns)
        .spawn(argv[0]!, argv.slice(1), { env, logFile: path.join(logDir, `${p.metadata.namespace}_${p.metadata.name}.log`) })
        .unref();
    }
    // Our own order: the IPv4 address first, as podIP.
    const ordered = [ip, ...ips.filter((x) => x !== ip)];
    await this.lab.api.mergePatch(`/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/status`, {
      status: { ...runningPodStatus(n, ordered, p.spec?.containers ?? [], containerId), reason: null, message: null },
    });
    this.log(`pod ${k}: on ${n.name}, ${ips.join(' ')}${argv.length ? `, running ${argv.join(' ')}` : ''}`);
  }

  private async teardown(k: string, w: Wired): Promise<void> {
    const n = this.lab.state.nodes.find((x) => x.name === w.node);
    const [namespace, name] = k.split('/') as [string, string];
    if (n)
      await cniDel(this.target(n, w.netns, w.containerId, { name, namespace })).catch((e: Error) =>
        this.log(`pod ${k}: CNI DEL: ${e.message}`),
      );
    await Netns.attach(w.netns).destroy();
    this.wired.delete(k);
    this.save();
    this.log(`pod ${k}: removed`);
  }

  /** Written whole and renamed into place: readers in other processes (podNetns) never see half a file. */
  private save(): void {
    writeFileAtomic(this.stateFile, `${JSON.stringify(Object.fromEntries(this.wired), null, 2)}\n`);
  }

  /**
   * Cluster IP and node ports for a Service that has none, from what `services` (this tick's
   * list) already use; what it hands out is added to `used` for the next Service.
   */
  private async allocate(s: Service, used: { ips: Set<string>; nodePorts: Set<number> }): Promise<void> {
    if (s.metadata.annotations?.[STATIC_ANNOTATION] !== undefined) return;
    const spec = s.spec ?? {};
    const type = spec.type ?? 'ClusterIP';
    if (type === 'ExternalName') return;
    const patch: Record<string, unknown> = {};
    if (!spec.clusterIP) {
      const ip = freeClusterIp(used.ips);
      used.ips.add(ip);
      // As kube-apiserver defaults them (this lab's service range is IPv4).
      Object.assign(patch, { clusterIP: ip, clusterIPs: [ip], type, ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' });
    }
    if ((type === 'NodePort' || type === 'LoadBalancer') && (spec.ports ?? []).some((p) => !p.nodePort)) {
      patch.ports = (spec.ports ?? []).map((p) => {
        if (p.nodePort) return p;
        let port = 30000;
        while (used.nodePorts.has(port)) port++;
        used.nodePorts.add(port);
        return { ...p, nodePort: port };
      });
    }
    if (Object.keys(patch).length === 0) return;
    await this.lab.api.mergePatch(`/api/v1/namespaces/${s.metadata.namespace}/services/${s.metadata.name}`, { spec: patch });
    this.log(`service ${key(s.metadata)}: ${JSON.stringify(patch)}`);
  }

  /** One EndpointSlice per selecting Service, of its Running pods; stale ones of ours removed. */
  private async endpointSlices(services: Service[], pods: Pod[], slices: Slice[]): Promise<void> {
    const api = this.lab.api;
    const wanted = new Set<string>();
    for (const s of services) {
      const selector = s.spec?.selector;
      if (!selector || Object.keys(selector).length === 0 || s.metadata.annotations?.[STATIC_ANNOTATION] !== undefined) continue;
      const ns = s.metadata.namespace ?? 'default';
      const selected = pods.filter(
        (p) =>
          p.metadata.namespace === ns &&
          p.status?.phase === 'Running' &&
          p.status.podIP &&
          Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
      );
      const name = `${s.metadata.name}-ctrl`;
      wanted.add(`${ns}/${name}`);
      const targetPort = (sp: ServicePort, p: Pod | undefined): number => {
        const t = sp.targetPort ?? sp.port;
        if (typeof t === 'number') return t;
        if (/^\d+$/.test(t)) return Number(t);
        return p?.spec?.containers?.flatMap((c) => c.ports ?? []).find((cp) => cp.name === t)?.containerPort ?? 0;
      };
      // A named target port resolves through a pod; with none selected it is left out.
      const ports = (s.spec?.ports ?? [])
        .map((sp) => ({ ...(sp.name ? { name: sp.name } : {}), protocol: sp.protocol ?? 'TCP', port: targetPort(sp, selected[0]) }))
        .filter((p) => p.port > 0);
      const endpoints = selected.map((p) => ({
        addresses: [p.status!.podIP!],
        nodeName: p.spec?.nodeName,
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
      }));
      const current = slices.find((x) => x.metadata.namespace === ns && x.metadata.name === name);
      if (
        current &&
        JSON.stringify(current.endpoints ?? []) === JSON.stringify(endpoints) &&
        JSON.stringify(current.ports ?? []) === JSON.stringify(ports)
      )
        continue;
      const slice = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name,
          namespace: ns,
          labels: { 'kubernetes.io/service-name': s.metadata.name, 'endpointslice.kubernetes.io/managed-by': MANAGED_BY },
          ...(current ? { resourceVersion: current.metadata.resourceVersion } : {}),
        },
        addressType: 'IPv4',
        ports,
        endpoints,
      };
      const base = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
      if (current) await api.request('PUT', `${base}/${name}`, slice);
      else await api.create(base, slice);
      this.log(`endpointslice ${ns}/${name}: ${endpoints.map((e) => e.addresses[0]).join(' ') || 'no endpoints'}`);
    }
    for (const x of slices) {
      if (x.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] !== MANAGED_BY || wanted.has(key(x.metadata))) continue;
      await api.delete(`/apis/discovery.k8s.io/v1/namespaces/${x.metadata.namespace}/endpointslices/${x.metadata.name}`);
    }
  }
}

/** `lab controllers`: runs until the lab's API socket goes (lab down) or SIGTERM. */
export async function runLabControllers(dir: string): Promise<void> {
  const lab = Lab.load(dir);
  let stopping = false;
  process.once('SIGTERM', () => (stopping = true));
  const log = (line: string): void => void process.stdout.write(`${isoNow()} ${line}\n`);
  log(`lab controllers for ${lab.state.nodes.length} nodes`);
  const controllers = new LabControllers(lab, log);
  // The nodes' container runtime too: the kubelet's pods and the lab's own.
  // Without it only DSR suffers: the kubelet's work goes on.
  const cri = await startLabCri(lab.state.nodes, (id) => controllers.netnsOfContainer(id)).catch((e: Error) => {
    log(`container runtime sockets: ${e.message}`);
    return [];
  });
  await controllers.run(() => stopping || !fs.existsSync(lab.state.api.socket));
  for (const s of cri) s.close();
  process.exit(0);
}

/** The network namespace of a pod, whether the lab made it or its kubelet did; throws if none. */
export function podNetns(lab: Lab, namespace: string, name: string): string {
  const own = lab.state.pods.find((p) => p.namespace === namespace && p.name === name);
  if (own) return own.netns;
  let wired: Record<string, Wired> = {};
  try {
    wired = JSON.parse(fs.readFileSync(path.join(lab.state.dir, WIRED_FILE), 'utf8')) as Record<string, Wired>;
  } catch {
    // No pod applied with kubectl has been wired yet.
  }
  const w = wired[`${namespace}/${name}`];
  if (!w)
    throw new Error(
      `no pod ${namespace}/${name} with a network namespace in this lab (is it still Pending? kubectl describe pod -n ${namespace} ${name})`,
    );
  return w.netns;
}

/** The first free address of 10.96.0.0/16 from .10 on (network and broadcast octets skipped). */
function freeClusterIp(used: ReadonlySet<string>): string {
  for (let i = 10; i < 65534; i++) {
    const ip = `10.96.${i >> 8}.${i & 255}`;
    if ((i & 255) !== 0 && (i & 255) !== 255 && !used.has(ip)) return ip;
  }
  throw new Error('no free cluster IP in 10.96.0.0/16');
}
