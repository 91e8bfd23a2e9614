/**
 * Network policy controller, desired state only (networking.k8s.io/v1 as kube-router enforces
 * it): from NetworkPolicies, Namespaces and every node's Pods, what each pod on this node may
 * receive and send. A pod no policy selects for a direction is not isolated in it; a selected
 * pod accepts only what some rule of some selecting policy allows (policies add up, an empty
 * rule list denies all). Peers are pod IPs (podSelector, namespaceSelector, both) or ipBlocks
 * with exceptions; ports by number, range (endPort) or name, a name resolved on the pod that
 * serves it: the local pod for ingress, each destination pod for egress. Pure: no I/O; the
 * firewall (src/dataplane/netpol.ts, firewall.ts) enforces the plan.
 */

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyObject {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    podSelector?: LabelSelector;
    policyTypes?: string[];
    ingress?: { from?: PolicyPeer[]; ports?: PolicyPort[] }[];
    egress?: { to?: PolicyPeer[]; ports?: PolicyPort[] }[];
  };
}

export interface NamespaceObject {
  metadata?: { name?: string; labels?: Record<string, string> };
}

export interface PolicyPodObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: {
    nodeName?: string;
    hostNetwork?: boolean;
    containers?: { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[];
  };
  status?: { phase?: string; podIP?: string; podIPs?: { ip: string }[] };
}

/** A port match: one protocol, one port or a range; `undefined` port means every port. */
export interface PortMatch {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port?: number;
  endPort?: number;
}

/** Who a rule lets in (or out to): everyone, or these pod IPs and CIDRs (minus their exceptions). */
export type Peers = 'any' | { ips: string[]; cidrs: { cidr: string; except: string[] }[] };

export interface RulePlan {
  /** The policy the rule comes from, "namespace/name". */
  policy: string;
  peers: Peers;
  /** 'any' when the rule names no ports. */
  ports: 'any' | PortMatch[];
}

export interface PodPolicyPlan {
  namespace: string;
  name: string;
  ips: string[];
  /** Undefined: not isolated for ingress; else only what these rules allow gets in. */
  ingress?: RulePlan[];
  egress?: RulePlan[];
}

/** Why an object or a field was left out: said once per distinct problem by the caller. */
export interface PolicyProblem {
  policy: string;
  problem: string;
}

export interface PolicyPlan {
  pods: PodPolicyPlan[];
  problems: PolicyProblem[];
}

/** Whether `labels` satisfy a label selector (an empty selector matches everything). */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  const have = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (have[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = have[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        // An unknown operator matches nothing: allowing more than asked would be the worse error.
        return false;
    }
  }
  return true;
}

interface PodInfo {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ips: string[];
  node: string;
  ports: { name?: string; containerPort?: number; protocol?: string }[];
}

const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

function podInfo(p: PolicyPodObject): PodInfo | undefined {
  const ips = p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : []);
  // Pods that have no address yet, have ended, or share the node's network are no peers by IP.
  if (!p.metadata?.name || ips.length === 0 || p.spec?.hostNetwork) return undefined;
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return undefined;
  return {
    namespace: p.metadata.namespace ?? 'default',
    name: p.metadata.name,
    labels: p.metadata.labels ?? {},
    ips,
    node: p.spec?.nodeName ?? '',
    ports: (p.spec?.containers ?? []).flatMap((c) => c.ports ?? []),
  };
}

/** The container port a named port stands for on a pod, per protocol; undefined if it has none. */
function namedPort(pod: PodInfo, name: string, protocol: string): number | undefined {
  return pod.ports.find((p) => p.name === name && (p.protocol ?? 'TCP') === protocol)?.containerPort;
}

const hasNamedPort = (ports: PolicyPort[] | undefined): boolean =>
  (ports ?? []).some((p) => typeof p.port === 'string' && !/^\d+$/.test(p.port));

function policyTypes(p: NetworkPolicyObject): { ingress: boolean; egress: boolean } {
  const types = p.spec?.policyTypes;
  if (types?.length) return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  // Unset: Ingress always, Egress when the policy has egress rules (the API's defaulting).
  return { ingress: true, egress: p.spec?.egress !== undefined };
}

export interface PolicyInputs {
  policies: readonly NetworkPolicyObject[];
  namespaces: readonly NamespaceObject[];
  pods: readonly PolicyPodObject[];
  nodeName: string;
}

type Selected = 'any' | { pods: PodInfo[]; cidrs: { cidr: string; except: string[] }[] };

export function computePolicyPlan(inputs: PolicyInputs): PolicyPlan {
  const problems: PolicyProblem[] = [];
  const pods = inputs.pods.map(podInfo).filter((p): p is PodInfo => p !== undefined);
  const nsLabels = new Map(inputs.namespaces.filter((n) => n.metadata?.name).map((n) => [n.metadata!.name!, n.metadata!.labels ?? {}]));
  // kubernetes.io/metadata.name is set on every namespace by the API server; match on it even if absent here.
  const labelsOfNamespace = (ns: string): Record<string, string> => ({ 'kubernetes.io/metadata.name': ns, ...nsLabels.get(ns) });

  const local = pods.filter((p) => p.node === inputs.nodeName);
  const plans = new Map(
    local.map((p) => [`${p.namespace}/${p.name}`, { namespace: p.namespace, name: p.name, ips: p.ips } as PodPolicyPlan]),
  );

  /** Selected pods and CIDRs as a rule's peers: the pods by their IPs (made once per selection). */
  const peersAsIps = new Map<Selected, Peers>();
  const asPeers = (peers: Selected): Peers => {
    if (peers === 'any') return 'any';
    let r = peersAsIps.get(peers);
    if (!r) peersAsIps.set(peers, (r = { ips: peers.pods.flatMap((p) => p.ips), cidrs: peers.cidrs }));
    return r;
  };
  const podsByNs = new Map<string, PodInfo[]>();
  const push = <K, V>(m: Map<K, V[]>, k: K, v: V): void => {
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  };
  for (const p of pods) push(podsByNs, p.namespace, p);
  /** Per namespace, its pods by each "label=value" they carry: a selector's matchLabels narrow the search. */
  const byLabel = new Map<string, Map<string, PodInfo[]>>();
  const candidates = (ns: string, selector: LabelSelector | undefined): readonly PodInfo[] => {
    const all = podsByNs.get(ns) ?? [];
    const first = Object.entries(selector?.matchLabels ?? {})[0];
    if (!first) return all;
    let index = byLabel.get(ns);
    if (!index) {
      byLabel.set(ns, (index = new Map()));
      for (const p of all) for (const [k, v] of Object.entries(p.labels)) push(index, `${k}=${v}`, p);
    }
    return index.get(`${first[0]}=${first[1]}`) ?? [];
  };
  const allNamespaces = [...new Set([...nsLabels.keys(), ...podsByNs.keys()])];
  /** A rule's peers, computed once per rule (every pod the policy selects shares them). */
  const peersCache = new Map<PolicyPeer[], Selected>();
  const peersOf = (policyNs: string, peers: PolicyPeer[] | undefined, policy: string): Selected => {
    if (!peers || peers.length === 0) return 'any';
    let r = peersCache.get(peers);
    if (!r) peersCache.set(peers, (r = selectPeers(policyNs, peers, policy)));
    return r;
  };
  const selectPeers = (policyNs: string, peers: PolicyPeer[], policy: string): Selected => {
    const selected = new Set<PodInfo>();
    const cidrs: { cidr: string; except: string[] }[] = [];
    for (const peer of peers) {
      if (peer.ipBlock) {
        if (!peer.ipBlock.cidr) problems.push({ policy, problem: 'ipBlock without cidr: left out' });
        else cidrs.push({ cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] });
        continue;
      }
      if (!peer.podSelector && !peer.namespaceSelector) {
        problems.push({ policy, problem: 'peer with no selector and no ipBlock: left out' });
        continue;
      }
      const namespaces = peer.namespaceSelector
        ? allNamespaces.filter((ns) => selectorMatches(peer.namespaceSelector, labelsOfNamespace(ns)))
        : [policyNs];
      for (const ns of namespaces)
        for (const p of candidates(ns, peer.podSelector)) if (selectorMatches(peer.podSelector, p.labels)) selected.add(p);
    }
    return { pods: [...selected], cidrs };
  };

  /** Port matches of a rule, named ports resolved on `server`; null when a name does not resolve there. */
  const portsOf = (ports: PolicyPort[] | undefined, server: PodInfo | undefined, policy: string): 'any' | PortMatch[] => {
    if (!ports || ports.length === 0) return 'any';
    const out: PortMatch[] = [];
    for (const p of ports) {
      const protocol = (p.protocol ?? 'TCP').toUpperCase();
      if (!PROTOCOLS.has(protocol)) {
        problems.push({ policy, problem: `protocol ${JSON.stringify(p.protocol)}: left out` });
        continue;
      }
      const proto = protocol as PortMatch['protocol'];
      if (p.port === undefined) out.push({ protocol: proto });
      else if (typeof p.port === 'number' || /^\d+$/.test(p.port)) {
        const port = Number(p.port);
        if (p.endPort !== undefined && p.endPort >= port) out.push({ protocol: proto, port, endPort: p.endPort });
        else out.push({ protocol: proto, port });
      } else if (server) {
        const port = namedPort(server, p.port, protocol);
        if (port !== undefined) out.push({ protocol: proto, port });
      }
    }
    return out;
  };

  const sharedRules = new Map<object, RulePlan | null>();
  for (const policy of inputs.policies) {
    const ns = policy.metadata?.namespace ?? 'default';
    const id = `${ns}/${policy.metadata?.name ?? '?'}`;
    const types = policyTypes(policy);
    const targets = local.filter((p) => p.namespace === ns && selectorMatches(policy.spec?.podSelector, p.labels));
    for (const target of targets) {
      const plan = plans.get(`${target.namespace}/${target.name}`)!;
      if (types.ingress) {
        plan.ingress ??= [];
        for (const rule of policy.spec?.ingress ?? []) {
          // Without named ports a rule reads the same for every pod: one object, shared.
          const perPod = hasNamedPort(rule.ports);
          let made = perPod ? undefined : sharedRules.get(rule);
          if (made === undefined) {
            const ports = portsOf(rule.ports, target, id);
            // A rule whose ports are all names the pod does not serve allows nothing.
            made = ports !== 'any' && ports.length === 0 ? null : { policy: id, peers: asPeers(peersOf(ns, rule.from, id)), ports };
            if (!perPod) sharedRules.set(rule, made);
          }
          if (made) plan.ingress.push(made);
        }
      }
      if (types.egress) {
        plan.egress ??= [];
        for (const rule of policy.spec?.egress ?? []) {
          const peers = peersOf(ns, rule.to, id);
          const named = hasNamedPort(rule.ports);
          if (!named || peers === 'any') {
            // A named port toward any destination, or toward CIDRs, has no pod to resolve it on:
            // such ports are left out (the rule's numbered ports stay).
            const ports = portsOf(rule.ports, undefined, id);
            if (ports !== 'any' && ports.length === 0) continue;
            plan.egress.push({
              policy: id,
              peers: asPeers(peers),
              ports,
            });
            continue;
          }
          // Named ports resolve per destination pod: one rule per distinct resolution.
          const groups = new Map<string, { ports: PortMatch[]; ips: string[] }>();
          for (const dest of peers.pods) {
            const ports = portsOf(rule.ports, dest, id);
            if (ports !== 'any' && ports.length === 0) continue;
            const k = JSON.stringify(ports);
            const g = groups.get(k);
            if (g) g.ips.push(...dest.ips);
            else groups.set(k, { ports: ports === 'any' ? [] : ports, ips: [...dest.ips] });
          }
          for (const g of groups.values()) plan.egress.push({ policy: id, peers: { ips: g.ips, cidrs: [] }, ports: g.ports });
          if (peers.cidrs.length) {
            const ports = portsOf(rule.ports, undefined, id);
            if (ports === 'any' || ports.length) plan.egress.push({ policy: id, peers: { ips: [], cidrs: peers.cidrs }, ports });
          }
        }
      }
    }
  }
  return { pods: [...plans.values()], problems };
}
