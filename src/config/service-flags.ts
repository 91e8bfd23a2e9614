/**
 * The service proxy's and the load-balancer allocator's flags, as kube-router names them (part
 * of the agent's one option table, agent-config.ts; parsed and validated there).
 */
import type { Options } from 'yargs';

/** --runtime-endpoint: none (''), or a unix socket's path with or without unix://. */
export const isRuntimeEndpoint = (text: string): boolean => !text || /^(unix:\/\/)?\/./.test(text);
export const RUNTIME_ENDPOINT_ERROR = 'is not a unix socket like unix:///run/containerd/containerd.sock';

export const SERVICE_OPTIONS = {
  'runtime-endpoint': {
    type: 'string',
    default: '',
    describe:
      "The container runtime's CRI socket (unix:///run/containerd/containerd.sock), through which DSR services (kube-router.io/service.dsr=tunnel) find their local endpoint pods' network namespaces.",
  },
  'ipvs-permit-all': {
    type: 'boolean',
    default: true,
    describe:
      'Accept traffic to service IPs on this node at their service ports (and ICMP) ahead of other INPUT rules; other ports of a service IP are refused.',
  },
  'nodeport-bindon-all-ip': {
    type: 'boolean',
    default: false,
    describe:
      "NodePort services listen on every address of the node's interfaces (but loopback, kube-*, *dummy* and docker*), not only its node IPs.",
  },
  'excluded-cidrs': {
    type: 'string',
    array: true,
    default: [],
    describe: "CIDRs whose IPVS virtual servers the service proxy never deletes (someone else's).",
  },
  'ipvs-sync-period': {
    type: 'string',
    default: '5m',
    describe: 'The delay between full service proxy synchronizations (besides those on changes). Must be greater than 0.',
  },
  'ipvs-graceful-termination': {
    type: 'boolean',
    default: false,
    describe:
      "A real server whose endpoint goes away keeps its connections: weight 0 first, removed when they are gone or its period ends (the pod's terminationGracePeriodSeconds, else --ipvs-graceful-period).",
  },
  'ipvs-graceful-period': {
    type: 'string',
    default: '30s',
    describe: 'How long a removed real server keeps weight 0 at most, for pods whose grace period is unknown. Must be greater than 0.',
  },
  'service-tcp-timeout': { type: 'string', default: '0s', describe: "IPVS TCP connection timeout, e.g. 5s or 1m (0s: the system's)." },
  'service-tcpfin-timeout': { type: 'string', default: '0s', describe: "IPVS timeout of TCP connections after a FIN (0s: the system's)." },
  'service-udp-timeout': { type: 'string', default: '0s', describe: "IPVS UDP timeout (0s: the system's)." },
  'service-node-port-range': {
    type: 'string',
    default: '30000-32767',
    describe:
      'NodePort range, "30000-32767" or "30000:32767": the firewall lets pods\' traffic to the node at these ports through INPUT (judged at the endpoint).',
  },
  'run-loadbalancer': {
    type: 'boolean',
    default: false,
    describe:
      'LoadBalancer IP allocator: Services of type LoadBalancer get an address from --loadbalancer-ip-range in their status (one agent of the cluster allocates, elected through the Lease kube-router-lballoc).',
  },
  'loadbalancer-default-class': {
    type: 'boolean',
    default: true,
    describe: 'The allocator also serves LoadBalancer Services without a loadBalancerClass (always those of class "kube-router").',
  },
  'loadbalancer-sync-period': {
    type: 'string',
    default: '1m',
    describe: 'The delay between checks for LoadBalancer Services the allocator missed. Must be greater than 0.',
  },
} as const satisfies Record<string, Options>;
