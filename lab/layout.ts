/**
 * The lab's address plan and the shape of its state file. Subnet k (1-based) is 10.0.(k-1).0/24
 * (fd00:0:0:(k-1)::/64 when dual-stack) on its own segment; its router address is .254 (::fe).
 * Node i sits in a block of the subnets (nodes 1-2 and 3-4 with --nodes 4 --subnets 2) at
 * .(10+i), with pod CIDR 10.244.i.0/24 (fd00:10:244:i::/64).
 */
import path from 'node:path';

export const LAB_PREFIX = 'krl-';
export const LAB_DIR = '/run/kube-router-ts/lab';
export const CLUSTER_ASN = 64512;
export const TOR_ASN = 64513;
/** The route reflection cluster ID of `lab up --route-reflectors` (kube-router.io/rr.server and rr.client). */
export const RR_CLUSTER_ID = '42';
/** Restart time the ToR's BIRD advertises and gives restarting nodes (RFC 4724), seconds. */
export const TOR_RESTART_TIME = 120;
export const API_IP = '10.0.0.250';
export const API_PORT = 6443;
/** The API server's TLS socket in its directory, relayed to the host's loopback for kubectl. */
export const HOST_SOCKET = 'api-host.sock';
/** `lab up` writes the host's kubeconfig (server on 127.0.0.1) here, in the lab's directory. */
export const HOST_KUBECONFIG = 'kubeconfig';
/** Marks Pods and Services the lab made itself: its controllers (lab/controllers.ts) leave them alone. */
export const STATIC_ANNOTATION = 'lab.kube-router-ts/static';
/** Every agent serves metrics here (kube-router's docs use 8080) and /healthz on kube-router's default. */
export const METRICS_PORT = 8080;
export const HEALTH_PORT = 20244;
export const PROMETHEUS_PORT = 9090;
/** A host outside the cluster (documentation prefixes), on the ToR: pod egress to it must be SNATed. */
export const EXTERNAL_HOST = '192.0.2.1';
export const EXTERNAL_HOST6 = '2001:db8::1';
/** Service external IPs the lab's agents may advertise. */
export const EXTERNAL_IP_RANGE = '198.51.100.0/24';
/** The same for IPv6 (labs with --ipv6). */
export const EXTERNAL_IP_RANGE6 = '2001:db8:5100::/64';

export const subnet4 = (k: number): string => `10.0.${k - 1}.0/24`;
export const routerIp = (k: number): string => `10.0.${k - 1}.254`;
const v6base = (k: number): string => (k === 1 ? 'fd00::' : `fd00:0:0:${k - 1}::`);
export const routerIp6 = (k: number): string => `${v6base(k)}fe`;
export const segmentName = (prefix: string, k: number): string => `${prefix}sw${k === 1 ? '' : k}`;

export interface LabNode {
  name: string;
  netns: string;
  /** 1-based subnet. */
  subnet: number;
  ip: string;
  podCidr: string;
  /** Dual-stack labs only. */
  ip6?: string;
  podCidr6?: string;
  dir: string;
  adminSocket: string;
  kubeconfig: string;
  cniConfList: string;
  cniState: string;
  /** Route reflection role (lab up --route-reflectors): the kube-router.io/rr.* annotation it gets. */
  rr?: 'server' | 'client';
}

export interface LabPod {
  name: string;
  namespace: string;
  node: string;
  netns: string;
  containerId: string;
  ip?: string;
  ip6?: string;
}

export interface LabState {
  prefix: string;
  dir: string;
  cli: string;
  subnets: number;
  api: { netns: string; ip: string; port: number; socket: string; dir: string };
  /**
   * The top-of-rack router: on every subnet (routing between them), with BIRD peering with every
   * node when `bgp` (lab up --tor). With several subnets BIRD also installs what it learns.
   */
  tor?: { netns: string; asn: number; dir: string; bgp: boolean; externalHost: string; externalHost6?: string };
  ipv6: boolean;
  /** Prometheus scraping every node, in the API server's namespace (lab up --prometheus). */
  prometheus?: { url: string; dir: string };
  nodes: LabNode[];
  pods: LabPod[];
  /** Flags every agent gets on top of the lab's own (lab restart --agent-args replaces them). */
  agentArgs: string[];
  /** Options for every agent's `node` itself, before the program (V8's, say); absent in older labs. */
  agentNodeArgs?: string[];
}

export function labNode(prefix: string, dir: string, i: number, n: number, subnets: number, ipv6: boolean): LabNode {
  const name = `node${i}`;
  const ndir = path.join(dir, name);
  const k = Math.floor(((i - 1) * subnets) / n) + 1;
  return {
    name,
    netns: `${prefix}${name}`,
    subnet: k,
    ip: `10.0.${k - 1}.${10 + i}`,
    podCidr: `10.244.${i}.0/24`,
    ...(ipv6 ? { ip6: `${v6base(k)}${10 + i}`, podCidr6: `fd00:10:244:${i}::/64` } : {}),
    dir: ndir,
    adminSocket: path.join(ndir, 'admin.sock'),
    kubeconfig: path.join(ndir, 'kubeconfig'),
    cniConfList: path.join(ndir, 'cni', '10-kuberouter.conflist'),
    cniState: path.join(ndir, 'var-lib-cni'),
  };
}

/** The Node object kubelet would register for a lab node. */
export function nodeObject(n: LabNode): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' },
      ...(n.rr ? { annotations: { [`kube-router.io/rr.${n.rr}`]: RR_CLUSTER_ID } } : {}),
    },
    spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr, ...(n.podCidr6 ? [n.podCidr6] : [])] },
    status: {
      addresses: [
        { type: 'InternalIP', address: n.ip },
        ...(n.ip6 ? [{ type: 'InternalIP', address: n.ip6 }] : []),
        { type: 'Hostname', address: n.name },
      ],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
    },
  };
}

/**
 * The status a kubelet reports for a running pod on `node`: Running, its IPs, Ready, and each
 * container started and ready. Used for the lab's own pods and for those applied with kubectl.
 */
export function runningPodStatus(
  node: LabNode,
  ips: string[],
  containers: { name: string; image?: string }[],
  containerId: string,
): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    phase: 'Running',
    hostIP: node.ip,
    hostIPs: [node.ip, ...(node.ip6 ? [node.ip6] : [])].map((x) => ({ ip: x })),
    podIP: ips[0],
    podIPs: ips.map((x) => ({ ip: x })),
    startTime: now,
    conditions: [
      { type: 'Ready', status: 'True', lastTransitionTime: now },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
    ],
    containerStatuses: containers.map((c, i) => ({
      name: c.name,
      // The lab's runtime (lab/cri.ts) knows the pod by this ID.
      containerID: `containerd://${containerId}${i ? `-${i}` : ''}`,
      ready: true,
      started: true,
      restartCount: 0,
      image: c.image ?? '',
      imageID: '',
      state: { running: { startedAt: now } },
    })),
  };
}
