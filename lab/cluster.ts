/**
 * The lab cluster: one machine, every node a network namespace on a shared segment (or on one
 * of several subnets joined by the ToR).
 *
 *   <prefix>sw[K]  a segment (a bridge) per subnet, 10.0.(K-1).0/24
 *   <prefix>api    the embedded API server (10.0.0.250:6443, HTTPS + token; unix socket for the lab)
 *   <prefix>tor    the router between subnets (.254 on each); with --tor also BIRD, AS 64513,
 *                  eBGP with every node; 192.0.2.1 is a host outside the cluster
 *   <prefix>nodeN  the real agent (`kube-router-ts` with a kubeconfig), pod CIDR 10.244.N.0/24
 *   <prefix>nodeN-podM  pods, wired by the CNI reference plugins from the config the agent wrote
 *
 * Processes are real and detached (the lab outlives `lab up`); what `lab status` and `lab down`
 * need is in <dir>/lab.json. The lab talks to agents only through what a user has: the API
 * server, the admin socket, and ip/ipset/iptables in the namespaces.
 */
import { ipFamily } from '../net';
import fs from 'node:fs';
import { writeFileAtomic } from '../src/util/write-atomic';
import { AGENT_ENV, AGENT_NODE_ARGS } from '../src/agent/process-env';
import path from 'node:path';
import { POD_WEB_SCRIPT } from './pod-web';
import { Netns, Segment, listNetns } from './netns';
import { LabApi } from './apiserver/client';
import { promQuery, PromSample } from './prometheus';
import { cniAdd, cniDel } from './cni-runtime';
import { criSocket } from './cri';
import { alive, logTail, until } from './wait';
import { adminRequest } from '../bgp/admin/client';
import {
  STATIC_ANNOTATION,
  runningPodStatus,
  EXTERNAL_IP_RANGE,
  EXTERNAL_IP_RANGE6,
  METRICS_PORT,
  HEALTH_PORT,
  LAB_DIR,
  LAB_PREFIX,
  LabNode,
  LabPod,
  LabState,
  nodeObject,
  routerIp,
  segmentName,
} from './layout';
import type { NeighborView } from '../bgp/admin/views';

/** A lab Service: one TCP port, endpoints on the given pods. */
export interface LabService {
  name: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  clusterIP: string;
  /** Dual-stack (RequireDualStack): the IPv6 cluster IP; the pods' IPv6 addresses go in a second slice. */
  clusterIP6?: string;
  port: number;
  targetPort: number;
  nodePort?: number;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  externalIPs?: string[];
  annotations?: Record<string, string>;
  pods: LabPod[];
}

export interface AgentStatusView {
  ready: boolean;
  nodeIp?: string;
  podCidrs: string[];
  kernelRoutes: { dst: string; gateway?: string; dev?: string; table?: number }[];
  tunnels?: { name: string; remote?: string; encap?: string; mtu?: number; up: boolean }[];
  converged: boolean;
  informers: { name: string; synced: boolean; lists: number; restarts: number; objects: number; lastError?: string }[];
  advertisedVips: { prefix: string }[];
  localPods: { name: string; namespace: string; ips: string[]; phase: string; ready: boolean }[];
  health?: { healthy: boolean; problems: string[] };
  /** Where the agent's node state comes from: the API server, or the state its last run saved. */
  stateSource?: 'api' | 'saved';
  notInstalled?: { prefix: string; peer?: string; reason: string }[];
  tasks?: { name: string; runs: number; errors: number; lastError?: string; lastSuccessAt?: number }[];
  memory?: { rss: number; heapUsed: number };
}

export const stateFile = (dir: string): string => path.join(dir, 'lab.json');

/** Whether agents run with boolean flag `--NAME` (the last one given wins, else `byDefault`). */
export function agentFlagOn(agentArgs: readonly string[], name: string, byDefault: boolean): boolean {
  let on = byDefault;
  const re = new RegExp(`^--(no-)?${name}(?:=(true|false))?$`);
  for (const a of agentArgs) {
    const m = re.exec(a);
    if (m) on = !m[1] && m[2] !== 'false';
  }
  return on;
}

/** Whether agents run with --enable-overlay (its default is true). */
export const overlayEnabled = (agentArgs: readonly string[]): boolean => agentFlagOn(agentArgs, 'enable-overlay', true);

/** Why this kernel cannot build ipip tunnels, or undefined when it can (tried in a scratch namespace). */
export async function tunnelSupportProblem(prefix: string): Promise<string | undefined> {
  const ns = await Netns.create(`${prefix}probe`);
  try {
    const r = await ns.exec('ip', ['link', 'add', 'probe0', 'type', 'ipip', 'local', '192.0.2.1', 'remote', '192.0.2.2'], {
      allowFail: true,
    });
    return r.code === 0
      ? undefined
      : `this kernel cannot create ipip tunnels (${r.stderr.trim() || `exit ${r.code}`}): it lacks the ipip module`;
  } finally {
    await ns.destroy();
  }
}

export class Lab {
  readonly api: LabApi;

  constructor(readonly state: LabState) {
    this.api = new LabApi(state.api.socket);
  }

  /** The lab described by <dir>/lab.json; throws when there is none. */
  static load(dir = LAB_DIR): Lab {
    let text: string;
    try {
      text = fs.readFileSync(stateFile(dir), 'utf8');
    } catch {
      throw new Error(`no lab is up (no ${stateFile(dir)}); start one with "kube-router-ts lab up"`);
    }
    return new Lab(JSON.parse(text) as LabState);
  }

  /** Atomic: tests and `lab` commands in other processes load it while the lab changes it. */
  save(): void {
    writeFileAtomic(stateFile(this.state.dir), `${JSON.stringify(this.state, null, 2)}\n`);
  }

  node(name: string): LabNode {
    const n = this.state.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no lab node ${name}`);
    return n;
  }

  netns(name: string): Netns {
    return Netns.attach(name);
  }

  /** Starts the agent of a node (it must not be running). */
  startAgent(n: LabNode): void {
    const s = this.state;
    const args = [
      s.cli,
      `--kubeconfig=${n.kubeconfig}`,
      `--hostname-override=${n.name}`,
      `--admin-socket=${n.adminSocket}`,
      `--state-file=${path.join(n.dir, 'state.json')}`,
      `--cni-conf-path=${n.cniConfList}`,
      '--routes-sync-period=60s',
      `--metrics-port=${METRICS_PORT}`,
      `--health-port=${HEALTH_PORT}`,
      '--advertise-external-ip',
      `--service-external-ip-range=${EXTERNAL_IP_RANGE}`,
      ...(s.ipv6 ? [`--service-external-ip-range=${EXTERNAL_IP_RANGE6}`] : []),
      // The lab's container runtime (lab/cri.ts), for DSR.
      `--runtime-endpoint=unix://${criSocket(n)}`,
      ...(s.tor?.bgp ? [`--peer-router-ips=${routerIp(n.subnet)}`, `--peer-router-asns=${s.tor.asn}`] : []),
      ...(s.ipv6 ? ['--enable-ipv6'] : []),
      // kube-router's default is on, but it needs IPVS, which a lab on this kind of host may lack:
      // --agent-args=--run-service-proxy turns it on (the VM lab does).
      '--run-service-proxy=false',
      // Restarts (lab restart, a rollout) keep pod traffic flowing; --agent-args may say otherwise.
      ...(s.agentArgs.some((a) => a.startsWith('--bgp-graceful-restart=') || a === '--bgp-graceful-restart')
        ? []
        : ['--bgp-graceful-restart=true']),
      ...s.agentArgs,
    ];
    const child = this.netns(n.netns).spawn(process.execPath, [...AGENT_NODE_ARGS, ...(s.agentNodeArgs ?? []), ...args], {
      logFile: path.join(n.dir, 'agent.log'),
      env: { ...process.env, ...AGENT_ENV },
    });
    fs.writeFileSync(path.join(n.dir, 'agent.pid'), `${child.pid}\n`);
    child.unref();
  }

  /** Stops a node's agent with SIGTERM (as the kubelet stops a pod) and waits until it is gone. */
  async stopAgent(n: LabNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const pidFile = path.join(n.dir, 'agent.pid');
    const pid = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : NaN);
    if (!pid) return;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    try {
      await until(() => !alive(pid), 10000, `agent of ${n.name} (pid ${pid}) to exit`);
    } catch (e) {
      // What the agent last said tells a hung shutdown step from a process that never got the signal.
      throw new Error(`${(e as Error).message}; the end of its log:\n${logTail(path.join(n.dir, 'agent.log'), 8)}`);
    }
    fs.rmSync(pidFile, { force: true });
  }

  agentStatus(n: LabNode): Promise<AgentStatusView> {
    return adminRequest<AgentStatusView>(n.adminSocket, 'GET', '/agent/status');
  }

  neighbors(n: LabNode): Promise<NeighborView[]> {
    return adminRequest<NeighborView[]>(n.adminSocket, 'GET', '/neighbors');
  }

  createNode(n: LabNode): Promise<unknown> {
    return this.api.create('/api/v1/nodes', nodeObject(n));
  }

  deleteNode(n: LabNode): Promise<void> {
    return this.api.delete(`/api/v1/nodes/${n.name}`);
  }

  /** Adds a host namespace (<prefix>NAME) on the lab's segment, e.g. another router to peer with. */
  async addHost(name: string, addresses: string[]): Promise<Netns> {
    const ns = await Netns.create(`${this.state.prefix}${name}`);
    await Segment.attach(segmentName(this.state.prefix, 1)).join(ns, 'eth0', addresses, `h-${name}`.slice(0, 15));
    return ns;
  }

  /** An instant PromQL query against the lab's Prometheus. */
  promQuery(query: string): Promise<PromSample[]> {
    if (!this.state.prometheus) throw new Error('this lab runs no Prometheus (lab up --prometheus)');
    return promQuery(this.netns(this.state.api.netns), this.state.prometheus.url, query);
  }

  /** birdc on the ToR. */
  birdc(...args: string[]): Promise<string> {
    const tor = this.state.tor;
    if (!tor?.bgp) throw new Error('the lab has no BGP ToR (lab up --tor)');
    return this.netns(tor.netns)
      .exec('birdc', ['-s', path.join(tor.dir, 'bird.ctl'), ...args])
      .then((r) => r.stdout);
  }

  /** Runs a command in a pod's network namespace. */
  inPod(pod: LabPod, cmd: string, args: string[]): ReturnType<Netns['exec']> {
    return this.netns(pod.netns).exec(cmd, args, { allowFail: true });
  }

  /** Creates a pod: namespace, CNI ADD with the node's config list, then the Pod object and its status. */
  async createPod(n: LabNode, name: string): Promise<LabPod> {
    const pod: LabPod = { name, namespace: 'default', node: n.name, netns: `${this.state.prefix}${name}`, containerId: `lab-${name}` };
    await Netns.create(pod.netns);
    this.state.pods.push(pod);
    this.save();
    const result = await cniAdd({
      confList: n.cniConfList,
      nodeNetns: n.netns,
      podNetns: pod.netns,
      containerId: pod.containerId,
      podName: name,
      podNamespace: pod.namespace,
      stateDir: n.cniState,
    });
    const ip = result.ips?.find((x) => ipFamily(x.address) === 4)?.address.split('/')[0];
    const ip6 = result.ips?.find((x) => ipFamily(x.address) === 6)?.address.split('/')[0];
    if (!ip || (this.state.ipv6 && !ip6))
      throw new Error(`CNI ADD for ${name} gave no ${ip ? 'IPv6' : 'IPv4'} address: ${JSON.stringify(result)}`);
    pod.ip = ip;
    if (ip6) pod.ip6 = ip6;
    const ips = [ip, ...(ip6 ? [ip6] : [])];
    this.save();
    const base = `/api/v1/namespaces/${pod.namespace}/pods`;
    const containers = [{ name: 'pause', image: 'registry.k8s.io/pause:3.9' }];
    await this.api.create(base, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: pod.namespace, labels: { app: 'lab', 'lab/node': n.name }, annotations: { [STATIC_ANNOTATION]: 'pod' } },
      spec: { nodeName: n.name, containers },
    });
    await this.api.mergePatch(`${base}/${name}/status`, { status: runningPodStatus(n, ips, containers, pod.containerId) });
    return pod;
  }

  /** Starts a web server in a pod that answers with the pod's name; returns once it accepts connections. */
  async servePodWeb(pod: LabPod, port = 8080): Promise<void> {
    // The server alone, not the whole CLI: loading that costs half a minute of CPU under emulation.
    const child = this.netns(pod.netns).spawn(process.execPath, ['-e', POD_WEB_SCRIPT, pod.name, String(port)], {
      logFile: path.join(this.state.dir, `${pod.name}-web.log`),
    });
    child.unref();
    // Two minutes: starting node takes most of one under emulation on a busy machine.
    await until(
      async () => (await this.inPod(pod, 'curl', ['-s', '-m', '2', `http://127.0.0.1:${port}/`])).stdout === `${pod.name}\n`,
      120000,
      `the web server in ${pod.name}`,
    );
  }

  /**
   * A Service with the given pods as its ready endpoints: the Service as a user creates it and
   * the EndpointSlice the endpoint-slice controller would write (the lab has no controller
   * manager). Calling it again updates both.
   */
  async applyService(s: LabService): Promise<void> {
    const base = '/api/v1/namespaces/default/services';
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name, namespace: 'default', annotations: { ...s.annotations, [STATIC_ANNOTATION]: 'service' } },
      spec: {
        type: s.type ?? 'ClusterIP',
        clusterIP: s.clusterIP,
        clusterIPs: [s.clusterIP, ...(s.clusterIP6 ? [s.clusterIP6] : [])],
        ipFamilies: s.clusterIP6 ? ['IPv4', 'IPv6'] : ['IPv4'],
        ipFamilyPolicy: s.clusterIP6 ? 'RequireDualStack' : 'SingleStack',
        ports: [{ name: 'http', protocol: 'TCP', port: s.port, targetPort: s.targetPort, ...(s.nodePort ? { nodePort: s.nodePort } : {}) }],
        ...(s.externalTrafficPolicy ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
        ...(s.externalIPs ? { externalIPs: s.externalIPs } : {}),
      },
    };
    const slice = (family: 4 | 6) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${s.name}-lab${family === 6 ? '6' : ''}`, namespace: 'default', labels: { 'kubernetes.io/service-name': s.name } },
      addressType: family === 4 ? 'IPv4' : 'IPv6',
      ports: [{ name: 'http', protocol: 'TCP', port: s.targetPort }],
      endpoints: s.pods.map((p) => ({
        addresses: [family === 4 ? p.ip! : p.ip6!],
        nodeName: p.node,
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name },
      })),
    });
    // Replaced whole (PUT, as kubectl replace), so fields left out are gone, not kept.
    const sliceBase = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
    const put = async (collection: string, name: string, object: { metadata: Record<string, unknown> }): Promise<void> => {
      const current = await this.api.get<{ metadata: { resourceVersion: string } }>(`${collection}/${name}`).catch(() => undefined);
      if (!current) await this.api.create(collection, object);
      else
        await this.api.request('PUT', `${collection}/${name}`, {
          ...object,
          metadata: { ...object.metadata, resourceVersion: current.metadata.resourceVersion },
        });
    };
    await put(base, s.name, service);
    for (const f of s.clusterIP6 ? ([4, 6] as const) : ([4] as const)) {
      const object = slice(f);
      await put(sliceBase, object.metadata.name, object);
    }
  }

  async deleteService(name: string): Promise<void> {
    const slices = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
    await this.api.delete(`${slices}/${name}-lab`);
    await this.api.delete(`${slices}/${name}-lab6`);
    await this.api.delete(`/api/v1/namespaces/default/services/${name}`);
  }

  /** Removes a pod: Pod object, CNI DEL, namespace. */
  async deletePod(pod: LabPod): Promise<void> {
    const n = this.node(pod.node);
    await this.api.delete(`/api/v1/namespaces/${pod.namespace}/pods/${pod.name}`).catch(() => undefined);
    await cniDel({
      confList: n.cniConfList,
      nodeNetns: n.netns,
      podNetns: pod.netns,
      containerId: pod.containerId,
      podName: pod.name,
      podNamespace: pod.namespace,
      stateDir: n.cniState,
    }).catch(() => undefined);
    await this.netns(pod.netns).destroy();
    this.state.pods = this.state.pods.filter((p) => p !== pod);
    this.save();
  }

  /**
   * Restarts every agent, with `agentArgs` replacing the extra flags when given (say
   * --overlay-type=full). By default as a DaemonSet rollout does (maxUnavailable 1): one node at
   * a time, the next once this one has converged again; `allAtOnce` stops them all, then starts
   * them all. Waits until BGP has converged everywhere (minutes under emulation on a busy machine).
   */
  async restartAgents(agentArgs?: string[], timeoutMs = 300000, allAtOnce = false): Promise<void> {
    if (agentArgs) {
      this.state.agentArgs = agentArgs;
      this.save();
    }
    const deadline = Date.now() + timeoutMs;
    if (allAtOnce) {
      await Promise.all(this.state.nodes.map((n) => this.stopAgent(n)));
      for (const n of this.state.nodes) this.startAgent(n);
    } else {
      for (const n of this.state.nodes) {
        await this.stopAgent(n);
        this.startAgent(n);
        await this.waitConverged(Math.max(1, deadline - Date.now()), [n]);
      }
    }
    await this.waitConverged(Math.max(1, deadline - Date.now()));
  }

  /** Waits until the agents of `only` (default every node) are up, their sessions Established and every pod CIDR routed. */
  async waitConverged(timeoutMs: number, only?: readonly LabNode[]): Promise<void> {
    const { nodes, tor } = this.state;
    const overlay = overlayEnabled(this.state.agentArgs);
    await until(
      async () => {
        for (const n of only ?? nodes) {
          const [st, nb] = await Promise.all([this.agentStatus(n), this.neighbors(n)]).catch(() => [undefined, undefined] as const);
          if (!st?.ready || !nb) return false;
          // A reflector client peers with the reflectors only; everyone else with every other node.
          const reflectors = nodes.filter((m) => m.rr === 'server').length;
          const want = (n.rr === 'client' ? reflectors : nodes.length - 1) + (tor?.bgp ? 1 : 0);
          if (nb.filter((x) => x.state === 'Established').length !== want) return false;
          // Without the overlay, pod CIDRs of other subnets are the ToR's to carry, not ours.
          const routed = new Set(st.kernelRoutes.map((r) => r.dst));
          const expected = nodes.filter((m) => m !== n && (overlay || m.subnet === n.subnet));
          if (expected.some((m) => !routed.has(m.podCidr) || (m.podCidr6 && !routed.has(m.podCidr6)))) return false;
        }
        return true;
      },
      timeoutMs,
      'every agent ready, every BGP session Established, every pod CIDR in every node table',
    );
  }

  /** Stops everything and deletes the namespaces and files (also of a half-built lab). */
  async down(): Promise<void> {
    await destroyLab(this.state.prefix, this.state.dir);
  }
}

/** Stops the lab's processes and deletes its namespaces; its files too unless `keepFiles` (logs for a post-mortem). */
export async function destroyLab(prefix = LAB_PREFIX, dir = LAB_DIR, keepFiles = false): Promise<void> {
  // The helpers in the root namespace first (the API relay on the host's loopback, the
  // controllers), waited for: the controllers would wire again the pods whose namespaces go.
  for (const helper of ['relay', 'controllers']) {
    let pid = 0;
    try {
      pid = Number(fs.readFileSync(path.join(dir, 'api', `${helper}.pid`), 'utf8').trim());
      if (pid > 0) process.kill(pid, 'SIGTERM');
    } catch {
      // Not started, or gone already: each leaves by itself once the API server's socket is.
      continue;
    }
    await until(() => !alive(pid), 10000, `the lab's ${helper} (pid ${pid}) to exit`).catch(() => process.kill(pid, 'SIGKILL'));
  }
  const names = await listNetns(prefix);
  // Pods first (their veths go with them), then nodes (agents get SIGTERM and send Cease), the rest last.
  const rank = (n: string): number => (/-pod\d+$/.test(n) ? 0 : /node\d+$/.test(n) ? 1 : 2);
  for (const r of [0, 1, 2]) await Promise.all(names.filter((n) => rank(n) === r).map((n) => Netns.attach(n).destroy()));
  if (keepFiles) fs.rmSync(stateFile(dir), { force: true });
  else fs.rmSync(dir, { recursive: true, force: true });
}
