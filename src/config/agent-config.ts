/**
 * The agent's configuration, from one place: the yargs option table below (kube-router's flag
 * names and defaults where they overlap), coerced and cross-checked into one frozen, typed
 * AgentConfig. Nothing else in the agent reads argv or the environment; NODE_NAME and
 * KUBE_ROUTER_CNI_CONF_FILE (as in kube-router's DaemonSets) only supply defaults here.
 */
import fs from 'node:fs';
import type { Options } from 'yargs';
import { FIREWALL_OPTIONS } from './firewall-flags';
import { CLOUD_OPTIONS } from './cloud-flags';
import { isRuntimeEndpoint, RUNTIME_ENDPOINT_ERROR, SERVICE_OPTIONS } from './service-flags';
import { ENDPOINT_OPTIONS } from './endpoint-flags';
import { BFD_OPTIONS, bfdFromFlags } from './bfd-flags';
import { GOBGP_ADMIN_OPTIONS } from './gobgp-admin-flags';
import type { BfdSettings } from '../../bgp';
import { canonicalIp, canonicalPrefix, isIp, isIpv4 } from '../../net';
import { LOG_LEVELS, LogLevel } from '../log';
import { FlagError } from './flag-error';

/** "5m", "90s", "2h22m", "1500ms" (Go's time.ParseDuration forms) into milliseconds. */
export function parseDuration(flag: string, text: string | number): number {
  if (typeof text === 'number') return text * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(text))) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    pos = re.lastIndex;
  }
  if (pos !== text.length || text.length === 0)
    throw new FlagError(flag, `${JSON.stringify(text)} is not a duration like 90s, 5m or 1h30m`);
  return total;
}

/** Comma-separated and repeated flags both give one flat list; empty items are kept ("a,,b"). */
function listOf(v: unknown): string[] {
  const raw = Array.isArray(v) ? v : v === undefined ? [] : [v];
  const items = raw.flatMap((x) => String(x).split(','));
  return items.length === 1 && items[0] === '' ? [] : items.map((s) => s.trim());
}

function ips(flag: string, v: unknown): string[] {
  return listOf(v).map((s) => {
    if (!isIp(s)) throw new FlagError(flag, `${JSON.stringify(s)} is not an IP address`);
    return canonicalIp(s);
  });
}

const asns = (flag: string, v: unknown): number[] => listOf(v).map((s) => asn(flag, s));

function asn(flag: string, s: string): number {
  return integer(flag, s, 1, 4294967295, 'an AS number');
}

/** A whole number in [min, max], from the text the user typed (so the error can quote it). */
function integer(flag: string, s: string, min: number, max: number, what = 'a whole number'): number {
  const n = /^\s*-?\d+\s*$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new FlagError(flag, `${JSON.stringify(s)} is not ${what} (${min}-${max})`);
  return n;
}

function ports(flag: string, v: unknown): number[] {
  return listOf(v).map((s) => integer(flag, s, 1, 65535, 'a port'));
}

function cidrs(flag: string, v: unknown): string[] {
  return listOf(v).map((s) => {
    try {
      return canonicalPrefix(s);
    } catch {
      throw new FlagError(flag, `${JSON.stringify(s)} is not a CIDR`);
    }
  });
}

/** kube-router takes BGP passwords base64-encoded; "" means no password for that peer. */
export function decodePasswords(flag: string, items: string[]): (string | undefined)[] {
  return items.map((s) => {
    if (s === '') return undefined;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0)
      throw new FlagError(flag, 'passwords must be base64-encoded (as kube-router takes them)');
    const text = Buffer.from(s, 'base64').toString('utf8').replace(/\n$/, '');
    const bytes = Buffer.byteLength(text);
    if (bytes === 0 || bytes > 80) throw new FlagError(flag, `a TCP MD5 key has 1 to 80 bytes (one has ${bytes})`);
    return text;
  });
}

/** The flags, as yargs options. The README's flag table is generated from this table. */
export const AGENT_OPTIONS = {
  kubeconfig: {
    type: 'string',
    describe: 'Path to kubeconfig file with authorization information (the master location is set by the master flag).',
  },
  master: { type: 'string', describe: 'The address of the Kubernetes API server (overrides any value in kubeconfig).' },
  'hostname-override': {
    type: 'string',
    default: process.env.NODE_NAME,
    defaultDescription: '$NODE_NAME, else the host name',
    describe: 'Overrides the NodeName of the node.',
  },
  'run-router': { type: 'boolean', default: true, describe: 'Enables Pod Networking: advertises and learns the routes to Pods via BGP.' },
  'run-firewall': {
    type: 'boolean',
    default: true,
    describe: 'Enables Network Policy: NetworkPolicies enforced for the pods on this node with iptables and ipsets (or nftables).',
  },
  'iptables-sync-period': {
    type: 'string',
    default: '5m',
    describe:
      "The delay between full network policy synchronizations (e.g. '5s', '1m'); changes are applied as they come. Must be greater than 0.",
  },
  'netpol-default-deny': {
    type: 'boolean',
    default: false,
    describe:
      "Rejects traffic from and to addresses of this node's pod CIDRs that are no pod the firewall knows yet (a pod started before its policies were written).",
  },
  'run-service-proxy': {
    type: 'boolean',
    default: true,
    describe:
      'Service proxy with IPVS, replacing kube-proxy (cluster IPs, node ports, external and load-balancer IPs on kube-dummy-if). Needs the ip_vs modules.',
  },
  'masquerade-all': {
    type: 'boolean',
    default: false,
    describe: 'SNAT all traffic to cluster IPs and node ports to the node IP (default: only traffic neither from nor to local pods).',
  },
  'cluster-asn': { type: 'string', default: '64512', describe: 'ASN number under which cluster nodes will run iBGP.' },
  'nodes-full-mesh': {
    type: 'boolean',
    default: true,
    describe: 'Each node in the cluster will set up BGP peering with the rest of the nodes.',
  },
  'enable-ibgp': {
    type: 'boolean',
    default: true,
    describe: 'Enables peering with nodes with the same ASN; if disabled will only peer with external BGP peers.',
  },
  'advertise-pod-cidr': {
    type: 'boolean',
    default: true,
    describe: "Add Node's pod CIDR to the RIB so that it gets advertised to the BGP peers.",
  },
  'advertise-cluster-ip': {
    type: 'boolean',
    default: false,
    describe: 'Add Cluster IP of the service to the RIB so that it gets advertised to the BGP peers.',
  },
  'advertise-external-ip': {
    type: 'boolean',
    default: false,
    describe: 'Add External IP of service to the RIB so that it gets advertised to the BGP peers.',
  },
  'advertise-loadbalancer-ip': {
    type: 'boolean',
    default: false,
    describe: 'Add LoadBalancer IP of service status to the RIB so that it gets advertised to the BGP peers.',
  },
  'peer-router-ips': {
    type: 'string',
    array: true,
    describe: 'The IP addresses of the external routers to which all nodes will peer and advertise the cluster IP and pod CIDRs.',
  },
  'peer-router-asns': { type: 'string', array: true, describe: 'ASN numbers of the external BGP peers, one per --peer-router-ips entry.' },
  'peer-router-ports': { type: 'string', array: true, describe: 'The remote ports of the external BGP peers (default 179).' },
  'peer-router-passwords': {
    type: 'string',
    array: true,
    describe: 'Base64-encoded passwords (TCP MD5) for the peers of --peer-router-ips; empty for none.',
  },
  'peer-router-passwords-file': {
    type: 'string',
    describe: 'File with the base64-encoded passwords, comma-separated on one line; --peer-router-passwords wins if both are set.',
  },
  'peer-router-max-prefixes': {
    type: 'string',
    array: true,
    describe:
      'Most prefixes accepted per family from each --peer-router-ips peer (one value for all, or one per peer; 0 or empty: no limit). Over it the session is closed (Cease, RFC 4486) for 60 s.',
  },
  'peer-router-multihop-ttl': {
    type: 'string',
    describe: 'Enable eBGP multihop: the IP TTL of sessions with eBGP peers (relevant only if >= 2; otherwise they are sent with TTL 1).',
  },
  'router-id': { type: 'string', describe: 'BGP router ID; defaults to the node IPv4 address. "generate" derives one from the node name.' },
  'override-nexthop': {
    type: 'boolean',
    default: false,
    describe: "Send routes to external peers with the session's local address as next hop (next-hop-self) instead of the node IP.",
  },
  'bgp-port': {
    type: 'string',
    default: '179',
    describe: 'The port open for incoming BGP connections and used for connecting with other BGP peers.',
  },
  'bgp-holdtime': { type: 'string', default: '90s', describe: 'BGP hold time offered to peers (0 or at least 3s).' },
  'bgp-accept-default-route': {
    type: 'boolean',
    default: false,
    describe:
      'Install a default route (0.0.0.0/0, ::/0) learned from BGP peers. Off, as kube-router: a peer announcing one would take over the node uplink.',
  },
  'bgp-graceful-restart': {
    type: 'boolean',
    default: false,
    describe: 'Enables the BGP Graceful Restart capability so that routes are preserved on unexpected restarts.',
  },
  'bgp-graceful-restart-time': { type: 'string', default: '90s', describe: 'BGP graceful restart time (RFC 4724 3), at most 4095s.' },
  'bgp-graceful-restart-deferral-time': {
    type: 'string',
    default: '360s',
    describe: 'How long to wait for End-of-RIB from restarted peers (RFC 4724 4.1), at most 18h.',
  },
  'enable-cni': { type: 'boolean', default: true, describe: 'Enable the CNI data path (kube-bridge, CNI config).' },
  'cni-conf-path': {
    type: 'string',
    default: process.env.KUBE_ROUTER_CNI_CONF_FILE ?? '/etc/cni/net.d/10-kuberouter.conflist',
    defaultDescription: '$KUBE_ROUTER_CNI_CONF_FILE, else /etc/cni/net.d/10-kuberouter.conflist',
    describe: 'Where the CNI config list is written.',
  },
  'enable-pod-egress': { type: 'boolean', default: true, describe: 'SNAT traffic from Pods to destinations outside the cluster.' },
  'auto-mtu': { type: 'boolean', default: true, describe: 'Set the MTU of kube-bridge and pod interfaces from the node interface.' },
  'hairpin-mode': {
    type: 'boolean',
    default: false,
    describe:
      'Pods may reach themselves through any service (SNAT rules per local endpoint; bridge ports are always in hairpin mode); per service: the kube-router.io/service.hairpin annotation.',
  },
  'enable-overlay': {
    type: 'boolean',
    default: true,
    describe: 'IP-in-IP tunnels for pod traffic to nodes in other subnets (see --overlay-type).',
  },
  'overlay-type': {
    type: 'string',
    default: 'subnet',
    choices: ['subnet', 'full'],
    describe: 'subnet: tunnel only to nodes in other subnets; full: tunnel to every node.',
  },
  'overlay-encap': { type: 'string', default: 'ipip', choices: ['ipip', 'fou'], describe: 'Overlay encapsulation.' },
  'overlay-encap-port': { type: 'string', default: '5555', describe: 'UDP port for fou encapsulation.' },
  'enable-ipv4': { type: 'boolean', default: true, describe: 'Enables IPv4 support.' },
  'enable-ipv6': { type: 'boolean', default: false, describe: 'Enables IPv6 support (dual-stack pod CIDRs).' },
  'routes-sync-period': { type: 'string', default: '5m', describe: 'The delay between full route, ipset and iptables synchronizations.' },
  'cache-sync-timeout': {
    type: 'string',
    default: '1m',
    describe:
      'How long the informers may take to list at start: then the agent exits (its pod restarts), unless it runs from a saved state (--state-file), which it keeps doing. Must be greater than 0.',
  },
  'injected-routes-sync-period': {
    type: 'string',
    default: '60s',
    describe:
      'The delay between checks of the routes installed into the kernel against the RIB (besides those on kernel events and route changes). Must be greater than 0.',
  },
  'service-cluster-ip-range': {
    type: 'string',
    array: true,
    default: ['10.96.0.0/12'],
    describe: 'CIDRs from which service cluster IPs are assigned.',
  },
  'service-external-ip-range': { type: 'string', array: true, describe: 'CIDRs from which service external IPs may come.' },
  'loadbalancer-ip-range': {
    type: 'string',
    array: true,
    describe: 'CIDRs from which service load-balancer IPs may come, and which --run-loadbalancer hands out.',
  },
  ...SERVICE_OPTIONS,
  'strict-external-ip-validation': {
    type: 'boolean',
    default: true,
    describe:
      'Proxy and advertise external and load-balancer IPs only inside --service-external-ip-range / --loadbalancer-ip-range and outside --service-cluster-ip-range (none when no range is given).',
  },
  'cleanup-config': {
    type: 'boolean',
    default: false,
    describe: 'Remove what the agent set up on this node (routes, kube-bridge, ipsets, iptables rules, CNI config) and exit.',
  },
  ...ENDPOINT_OPTIONS,
  'self-heal-period': {
    type: 'string',
    default: '1s',
    describe:
      'How often what the kernel sends no events about (ipsets, IPVS, sysctls; iptables without nf_tables)' +
      ' is compared with what the agent set up, and repaired. 0 turns these checks off (the periodic sync still repairs).',
  },
  'state-file': {
    type: 'string',
    default: '/var/lib/kube-router-ts/state.json',
    describe:
      'Where the agent keeps the desired state it last computed, to start from when it restarts while the API server is unreachable ("" to keep none).',
  },
  'admin-socket': {
    type: 'string',
    default: '/run/kube-router-ts/speaker.sock',
    describe: 'Unix socket of the BGP admin API (kube-router-ts bgp ...).',
  },
  'log-level': { type: 'string', choices: LOG_LEVELS, default: 'info', describe: 'Log level.' },
  v: { type: 'string', describe: 'klog-style verbosity as kube-router takes it: 0 info, 1-2 debug, 3+ trace.' },
  'print-config': {
    type: 'boolean',
    default: false,
    describe: 'Validate the flags, print the effective configuration as JSON (one key per flag) and exit; touches nothing.',
  },
  ...GOBGP_ADMIN_OPTIONS,
  ...BFD_OPTIONS,
  ...CLOUD_OPTIONS,
  ...FIREWALL_OPTIONS,
} as const satisfies Record<string, Options>;

export interface PeerRouter {
  address: string;
  asn: number;
  port: number;
  password?: string;
  maxPrefixes?: number;
}

export interface AgentConfig {
  kubeconfig?: string;
  master?: string;
  nodeName: string;
  runRouter: boolean;
  runServiceProxy: boolean;
  runFirewall: boolean;
  /** --iptables-sync-period: the firewall's full resync. */
  iptablesSyncPeriodMs: number;
  /** --run-loadbalancer with --loadbalancer-default-class and --loadbalancer-sync-period. */
  runLoadBalancer: boolean;
  loadBalancerDefaultClass: boolean;
  /** --service-node-port-range as iptables takes it: "30000:32767". */
  nodePortRange: string;
  excludedCidrs: string[];
  ipvsPermitAll: boolean;
  runtimeEndpoint: string;
  disableSourceDestCheck: boolean;
  nodeportBindonAllIp: boolean;
  ipvsSyncPeriodMs: number;
  /** --ipvs-graceful-termination: how long a departed real server may drain at most, or undefined (removed at once). */
  ipvsGracefulPeriodMs: number | undefined;
  /** --service-tcp-timeout, --service-tcpfin-timeout, --service-udp-timeout, whole seconds (0: the system's). */
  ipvsTimeouts: { tcp: number; tcpfin: number; udp: number };
  loadBalancerSyncPeriodMs: number;
  netpolDefaultDeny: boolean;
  useNftablesForNetpol: boolean;
  masqueradeAll: boolean;
  clusterAsn: number;
  nodesFullMesh: boolean;
  enableIbgp: boolean;
  advertisePodCidr: boolean;
  advertiseClusterIp: boolean;
  advertiseExternalIp: boolean;
  advertiseLoadBalancerIp: boolean;
  peerRouters: PeerRouter[];
  peerMultihopTtl?: number;
  routerId?: string;
  overrideNextHop: boolean;
  bgpPort: number;
  bgpHoldTime: number;
  acceptDefaultRoute: boolean;
  gracefulRestart?: { restartTime: number; deferralTime: number };
  /** --enable-bfd: BFD timers for the sessions with --peer-router-ips. */
  bfd?: BfdSettings;
  enableCni: boolean;
  cniConfPath: string;
  enablePodEgress: boolean;
  autoMtu: boolean;
  hairpinMode: boolean;
  overlay?: { type: 'subnet' | 'full'; encap: 'ipip' | 'fou'; port: number };
  ipv4: boolean;
  ipv6: boolean;
  routesSyncPeriodMs: number;
  /** --enable-pprof: V8 profiles on 0.0.0.0:6060. */
  enablePprof: boolean;
  cacheSyncTimeoutMs: number;
  /** --injected-routes-sync-period: a routes loop run at least this often. */
  injectedRoutesSyncPeriodMs: number;
  /** --self-heal-period; 0: no periodic drift checks. */
  selfHealPeriodMs: number;
  serviceClusterIpRanges: string[];
  serviceExternalIpRanges: string[];
  loadBalancerIpRanges: string[];
  strictExternalIpValidation: boolean;
  cleanupConfig: boolean;
  adminSocket: string;
  /** GoBGP's gRPC API (read-only); absent when --gobgp-admin-port is 0. */
  gobgpAdmin?: { addresses: string[]; port: number };
  /** --state-file; absent when "". */
  stateFile?: string;
  logLevel: LogLevel;
  /** Where Prometheus scrapes; absent when --metrics-port is 0. */
  metrics?: { address?: string; port: number; path: string };
  /** Where /healthz is served; absent when --health-port is 0. */
  health?: { address?: string; port: number };
}

export type AgentArgs = { [K in keyof typeof AGENT_OPTIONS]?: unknown };

/** Builds the typed, validated configuration from parsed flags. Throws FlagError naming the flag. */
export function agentConfigFrom(a: AgentArgs, hostname: () => string): AgentConfig {
  const str = (k: keyof AgentArgs): string | undefined => (a[k] === undefined ? undefined : String(a[k]));
  const bool = (k: keyof AgentArgs): boolean => a[k] === true;
  const peerIps = ips('peer-router-ips', a['peer-router-ips']);
  const peerAsns = asns('peer-router-asns', a['peer-router-asns']);
  const peerPorts = ports('peer-router-ports', a['peer-router-ports']);
  let pwItems = listOf(a['peer-router-passwords']);
  let pwFlag = 'peer-router-passwords';
  const pwFile = str('peer-router-passwords-file');
  if (pwItems.length === 0 && pwFile) {
    pwFlag = 'peer-router-passwords-file';
    try {
      pwItems = listOf(fs.readFileSync(pwFile, 'utf8').trim());
    } catch (e) {
      throw new FlagError(pwFlag, `cannot read ${pwFile}: ${(e as Error).message}`);
    }
  }
  const passwords = decodePasswords(pwFlag, pwItems);
  if (peerIps.length !== peerAsns.length)
    throw new FlagError(
      'peer-router-asns',
      `needs one AS number per --peer-router-ips entry (${peerIps.length} IPs, ${peerAsns.length} ASNs)`,
    );
  if (peerPorts.length && peerPorts.length !== peerIps.length)
    throw new FlagError(
      'peer-router-ports',
      `needs one port per --peer-router-ips entry or none (${peerIps.length} IPs, ${peerPorts.length} ports)`,
    );
  if (passwords.length && passwords.length !== peerIps.length)
    throw new FlagError(
      pwFlag,
      `needs one entry (possibly empty) per --peer-router-ips entry (${peerIps.length} IPs, ${passwords.length} passwords)`,
    );
  const limits = listOf(a['peer-router-max-prefixes']).map((s) =>
    s === '' ? 0 : integer('peer-router-max-prefixes', s, 0, 4294967295, 'a prefix count'),
  );
  if (limits.length > 1 && limits.length !== peerIps.length)
    throw new FlagError(
      'peer-router-max-prefixes',
      `needs one value for all peers or one per --peer-router-ips entry (${peerIps.length} IPs, ${limits.length} values)`,
    );
  const peerRouters = peerIps.map((address, i): PeerRouter => {
    const p: PeerRouter = { address, asn: peerAsns[i]!, port: peerPorts[i] ?? 179 };
    if (passwords[i]) p.password = passwords[i];
    const limit = limits.length === 1 ? limits[0] : limits[i];
    if (limit) p.maxPrefixes = limit;
    return p;
  });

  const ttl =
    str('peer-router-multihop-ttl') === undefined
      ? undefined
      : integer('peer-router-multihop-ttl', str('peer-router-multihop-ttl')!, 1, 255);
  const routerId = str('router-id');
  if (routerId !== undefined && routerId !== 'generate' && !isIpv4(routerId)) {
    throw new FlagError('router-id', `${JSON.stringify(routerId)} is neither an IPv4 address nor "generate"`);
  }
  if (routerId === '0.0.0.0') throw new FlagError('router-id', 'must not be 0.0.0.0 (RFC 6286: a non-zero BGP Identifier)');
  const bgpPort = integer('bgp-port', str('bgp-port') ?? '179', 1, 65535, 'a port');
  const hold = parseDuration('bgp-holdtime', str('bgp-holdtime') ?? '90s') / 1000;
  if (!Number.isInteger(hold) || (hold !== 0 && hold < 3) || hold > 65535)
    throw new FlagError('bgp-holdtime', 'must be 0 or whole seconds from 3s to 65535s');
  const grTime = parseDuration('bgp-graceful-restart-time', str('bgp-graceful-restart-time') ?? '90s') / 1000;
  if (!Number.isInteger(grTime) || grTime < 1 || grTime > 4095)
    throw new FlagError('bgp-graceful-restart-time', 'must be whole seconds from 1s to 4095s (a 12-bit field)');
  const grDeferral = parseDuration('bgp-graceful-restart-deferral-time', str('bgp-graceful-restart-deferral-time') ?? '360s') / 1000;
  if (grDeferral <= 0 || grDeferral > 18 * 3600) throw new FlagError('bgp-graceful-restart-deferral-time', 'must be between 1s and 18h');
  const metricsPort = integer('metrics-port', str('metrics-port') ?? '0', 0, 65535, 'a port');
  const healthPort = integer('health-port', str('health-port') ?? '20244', 0, 65535, 'a port');
  const metricsPath = str('metrics-path') ?? '/metrics';
  if (!/^\/[\x21-\x7e]*$/.test(metricsPath))
    throw new FlagError('metrics-path', `${JSON.stringify(metricsPath)} is not a URL path starting with /`);
  const listenAddr = (flag: 'metrics-addr' | 'health-addr'): string | undefined => {
    const v = str(flag);
    if (!v) return undefined;
    if (!isIp(v)) throw new FlagError(flag, `${JSON.stringify(v)} is not an IP address`);
    return canonicalIp(v);
  };
  const metricsAddr = listenAddr('metrics-addr');
  const healthAddr = listenAddr('health-addr');
  if (metricsPort && metricsPort === healthPort && metricsAddr !== healthAddr)
    throw new FlagError('metrics-addr', 'must equal --health-addr when --metrics-port equals --health-port (one listener serves both)');
  if (metricsPort && metricsPort === healthPort && metricsPath === '/healthz')
    throw new FlagError('metrics-path', 'cannot be /healthz when metrics and health share a port');
  const selfHealMs = str('self-heal-period') === '0' ? 0 : parseDuration('self-heal-period', str('self-heal-period') ?? '1s');
  const syncMs = parseDuration('routes-sync-period', str('routes-sync-period') ?? '5m');
  if (syncMs <= 0) throw new FlagError('routes-sync-period', 'must be greater than 0');
  const cacheSyncTimeoutMs = parseDuration('cache-sync-timeout', str('cache-sync-timeout') ?? '1m');
  if (cacheSyncTimeoutMs <= 0) throw new FlagError('cache-sync-timeout', 'must be greater than 0');
  const injectedRoutesSyncPeriodMs = parseDuration('injected-routes-sync-period', str('injected-routes-sync-period') ?? '60s');
  if (injectedRoutesSyncPeriodMs <= 0) throw new FlagError('injected-routes-sync-period', 'must be greater than 0');
  const iptablesSyncPeriodMs = parseDuration('iptables-sync-period', str('iptables-sync-period') ?? '5m');
  if (iptablesSyncPeriodMs <= 0) throw new FlagError('iptables-sync-period', 'must be greater than 0');
  const portRange = str('service-node-port-range') ?? '30000-32767';
  const range = /^(\d+)[-:](\d+)$/.exec(portRange);
  if (!range || Number(range[1]) >= Number(range[2]) || Number(range[2]) > 65535)
    throw new FlagError('service-node-port-range', `${JSON.stringify(portRange)} is not a port range like 30000-32767`);
  if (!isRuntimeEndpoint(str('runtime-endpoint') ?? ''))
    throw new FlagError('runtime-endpoint', `${JSON.stringify(str('runtime-endpoint'))} ${RUNTIME_ENDPOINT_ERROR}`);
  const ipvsSyncPeriodMs = parseDuration('ipvs-sync-period', str('ipvs-sync-period') ?? '5m');
  if (ipvsSyncPeriodMs <= 0) throw new FlagError('ipvs-sync-period', 'must be greater than 0');
  const ipvsGracefulPeriodMs = parseDuration('ipvs-graceful-period', str('ipvs-graceful-period') ?? '30s');
  if (ipvsGracefulPeriodMs <= 0) throw new FlagError('ipvs-graceful-period', 'must be greater than 0');
  const seconds = (f: 'service-tcp-timeout' | 'service-tcpfin-timeout' | 'service-udp-timeout'): number =>
    Math.round(parseDuration(f, str(f) ?? '0s') / 1000);
  const loadBalancerSyncPeriodMs = parseDuration('loadbalancer-sync-period', str('loadbalancer-sync-period') ?? '1m');
  if (loadBalancerSyncPeriodMs <= 0) throw new FlagError('loadbalancer-sync-period', 'must be greater than 0');
  const asnValue = asn('cluster-asn', str('cluster-asn') ?? '64512');
  if (!bool('enable-ipv4') && !bool('enable-ipv6'))
    throw new FlagError('enable-ipv4', 'at least one of --enable-ipv4 and --enable-ipv6 must be true');
  const encapPort = integer('overlay-encap-port', str('overlay-encap-port') ?? '5555', 1, 65535, 'a port');

  const gobgpAdminPort = integer('gobgp-admin-port', str('gobgp-admin-port') ?? '50051', 0, 65535, 'a port');
  const gobgpAdminAddresses = ips('gobgp-admin-address', a['gobgp-admin-address'] ?? '127.0.0.1');
  if (gobgpAdminPort && !gobgpAdminAddresses.length)
    throw new FlagError('gobgp-admin-address', 'no address to listen on (set --gobgp-admin-port=0 for none)');
  const v = str('v') === undefined ? undefined : integer('v', str('v')!, 0, 10);
  const logLevel: LogLevel = v === undefined ? ((str('log-level') ?? 'info') as LogLevel) : v >= 3 ? 'trace' : v >= 1 ? 'debug' : 'info';
  const nodeName = str('hostname-override') || hostname();

  const config: AgentConfig = {
    nodeName,
    runRouter: bool('run-router'),
    runServiceProxy: bool('run-service-proxy'),
    runFirewall: bool('run-firewall'),
    iptablesSyncPeriodMs,
    runLoadBalancer: bool('run-loadbalancer'),
    loadBalancerDefaultClass: bool('loadbalancer-default-class'),
    loadBalancerSyncPeriodMs,
    nodePortRange: `${range[1]}:${range[2]}`,
    excludedCidrs: cidrs('excluded-cidrs', a['excluded-cidrs']),
    ipvsPermitAll: bool('ipvs-permit-all'),
    runtimeEndpoint: str('runtime-endpoint') ?? '',
    disableSourceDestCheck: bool('disable-source-dest-check'),
    nodeportBindonAllIp: bool('nodeport-bindon-all-ip'),
    ipvsSyncPeriodMs,
    ipvsGracefulPeriodMs: bool('ipvs-graceful-termination') ? ipvsGracefulPeriodMs : undefined,
    ipvsTimeouts: { tcp: seconds('service-tcp-timeout'), tcpfin: seconds('service-tcpfin-timeout'), udp: seconds('service-udp-timeout') },
    netpolDefaultDeny: bool('netpol-default-deny'),
    useNftablesForNetpol: bool('use-nftables-for-netpol'),
    masqueradeAll: bool('masquerade-all'),
    clusterAsn: asnValue,
    nodesFullMesh: bool('nodes-full-mesh'),
    enableIbgp: bool('enable-ibgp'),
    advertisePodCidr: bool('advertise-pod-cidr'),
    advertiseClusterIp: bool('advertise-cluster-ip'),
    advertiseExternalIp: bool('advertise-external-ip'),
    advertiseLoadBalancerIp: bool('advertise-loadbalancer-ip'),
    peerRouters,
    overrideNextHop: bool('override-nexthop'),
    bgpPort,
    bgpHoldTime: hold,
    acceptDefaultRoute: bool('bgp-accept-default-route'),
    enableCni: bool('enable-cni'),
    cniConfPath: str('cni-conf-path')!,
    enablePodEgress: bool('enable-pod-egress'),
    autoMtu: bool('auto-mtu'),
    hairpinMode: bool('hairpin-mode'),
    ipv4: bool('enable-ipv4'),
    ipv6: bool('enable-ipv6'),
    routesSyncPeriodMs: syncMs,
    injectedRoutesSyncPeriodMs,
    cacheSyncTimeoutMs,
    enablePprof: bool('enable-pprof'),
    selfHealPeriodMs: selfHealMs,
    serviceClusterIpRanges: cidrs('service-cluster-ip-range', a['service-cluster-ip-range']),
    serviceExternalIpRanges: cidrs('service-external-ip-range', a['service-external-ip-range']),
    loadBalancerIpRanges: cidrs('loadbalancer-ip-range', a['loadbalancer-ip-range']),
    strictExternalIpValidation: bool('strict-external-ip-validation'),
    cleanupConfig: bool('cleanup-config'),
    adminSocket: str('admin-socket')!,
    logLevel,
  };
  const kubeconfig = str('kubeconfig');
  if (kubeconfig) config.kubeconfig = kubeconfig;
  const master = str('master');
  if (master) config.master = master;
  const stateFile = str('state-file');
  if (stateFile) config.stateFile = stateFile;
  if (ttl !== undefined) config.peerMultihopTtl = ttl;
  if (routerId) config.routerId = routerId;
  const bfd = bfdFromFlags(a, (flag, why) => {
    throw new FlagError(flag, why);
  });
  if (bfd) config.bfd = bfd;
  if (bool('bgp-graceful-restart')) config.gracefulRestart = { restartTime: grTime, deferralTime: grDeferral };
  if (metricsPort) config.metrics = { ...(metricsAddr ? { address: metricsAddr } : {}), port: metricsPort, path: metricsPath };
  if (gobgpAdminPort) config.gobgpAdmin = { addresses: [...new Set(gobgpAdminAddresses)], port: gobgpAdminPort };
  if (healthPort) config.health = { ...(healthAddr ? { address: healthAddr } : {}), port: healthPort };
  if (bool('enable-overlay'))
    config.overlay = { type: str('overlay-type') as 'subnet' | 'full', encap: str('overlay-encap') as 'ipip' | 'fou', port: encapPort };
  return Object.freeze(config);
}
