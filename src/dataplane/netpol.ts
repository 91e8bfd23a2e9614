/**
 * Network policy as iptables rules and ipsets, pure: from the controller's per-pod plan to the
 * filter table's chains and the sets they match, per family, in kube-router's design. Top-level
 * chains jumped from INPUT, FORWARD and OUTPUT send traffic to and from each isolated local pod
 * into that pod's ingress or egress chain. A pod's chain returns (lets the packet go on) for
 * established flows and, for ingress, the node itself; else it jumps to the chain of each policy
 * selecting the pod, whose rules mark what they allow, and rejects what no policy marked. A
 * policy's chain is shared by every pod it selects (named ports resolving differently give
 * another chain), so rules grow with policies plus pods, not their product. A flow between two
 * local pods passes the source's egress chain, then the destination's ingress chain: each
 * clears the mark before and after. Peers are ipsets named by their content: a set is filled
 * before the rules naming it are written, and a changed selection is a new set.
 */
import crypto from 'node:crypto';
import { addressBits, ipFamily } from '../../net';
import { canonicalPrefix } from '../../net/prefix';
import type { IpSetSpec } from './ipsets';

/** What may pass, per local pod and direction (the shape controllers/network-policy.ts computes). */
export interface PortMatch {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** Undefined: every port of the protocol. */
  port?: number;
  endPort?: number;
}
export interface RulePlan {
  /** "namespace/name", for the rule's comment. */
  policy: string;
  peers: 'any' | { ips: readonly string[]; cidrs: readonly { cidr: string; except: readonly string[] }[] };
  ports: 'any' | readonly PortMatch[];
}
export interface PodPolicyPlan {
  namespace: string;
  name: string;
  ips: readonly string[];
  /** Undefined: not isolated in that direction (no chain). */
  ingress?: readonly RulePlan[];
  egress?: readonly RulePlan[];
}

export type Family = 4 | 6;

/** Every chain and set of the firewall starts with these (what drift checks and cleanup look for). */
export const NP_CHAIN_PREFIX = 'KUBE-ROUTER-TS-NP-';
export const NP_SET_PREFIX = 'KRT-NP-';
export const NP_INPUT = `${NP_CHAIN_PREFIX}INPUT`;
export const NP_FORWARD = `${NP_CHAIN_PREFIX}FORWARD`;
export const NP_OUTPUT = `${NP_CHAIN_PREFIX}OUTPUT`;
const COMMENT = 'kube-router-ts';

export interface FirewallInput {
  /** Every pod of this node with an address (isolated or not): with `defaultDeny`, the pods whose firewall is in place. */
  pods: readonly PodPolicyPlan[];
  /** --service-cluster-ip-range: a pod's traffic to a cluster IP is judged at its endpoint, not here. */
  serviceRanges: readonly string[];
  /**
   * Also judged at the endpoint, as kube-router lets them pass INPUT: the node's own addresses at
   * --service-node-port-range ("30000:32767"), and --service-external-ip-range and
   * --loadbalancer-ip-range.
   */
  nodePortRange?: string;
  vipRanges?: readonly string[];
  /**
   * --netpol-default-deny, as kube-router: traffic from or to an address of this node's pod CIDRs
   * that is no known pod's (a pod started before its firewall was written) is rejected, not let
   * through unjudged. The node's own addresses in those CIDRs (the bridge's) are not pods.
   */
  defaultDeny?: { podCidrs: readonly string[] };
}

/** The set of this node's pods the firewall knows (with --netpol-default-deny), per family. */
export const KNOWN_PODS = `${NP_SET_PREFIX}LOCAL-PODS`;
export const knownPodsSet = (f: Family): string => (f === 4 ? KNOWN_PODS : `${KNOWN_PODS}6`);

export interface FamilyRules {
  /** The chains this family's ruleset declares (top-level first). */
  chains: string[];
  /** `-A CHAIN ...` lines. */
  rules: string[];
}

export interface FirewallRender {
  sets: IpSetSpec[];
  families: Record<Family, FamilyRules>;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** `n` characters of base32 (5 bits each) from a SHA-256 of `text`: names short enough for iptables and ipset. */
const hash = (text: string, n: number): string => {
  const digest = crypto.createHash('sha256').update(text).digest();
  let out = '';
  for (let i = 0; i < n; i++) {
    const bit = i * 5;
    const word = (digest[bit >> 3]! << 8) | digest[(bit >> 3) + 1]!;
    out += BASE32[(word >> (11 - (bit & 7))) & 31];
  }
  return out;
};

/** A pod's chain per direction: at most 28 characters, as iptables allows. */
export const podChain = (direction: 'I' | 'E', namespace: string, name: string): string =>
  `${NP_CHAIN_PREFIX}${direction}-${hash(`${namespace}/${name}`, 8)}`;

/** A policy's chain, named by its rules as they apply (so pods it selects alike share it). */
const policyChain = (key: string): string => `${NP_CHAIN_PREFIX}P-${hash(key, 8)}`;

/** What a policy rule sets on a packet it allows, as kube-router marks it. */
const ALLOWED = '0x10000/0x10000';
const CLEARED = '0x0/0x10000';

/** A set's name from its content (at most 31 characters, as ipset allows). */
const setName = (type: string, family: Family, members: readonly string[]): string =>
  `${NP_SET_PREFIX}${hash(`${type} ${family} ${members.join(',')}`, 16)}`;

/**
 * A CIDR as ipset keeps it in a hash:net set: host bits cleared, a host route without its
 * length. hash:net takes no /0: it becomes two halves.
 */
export function netMembers(cidr: string): string[] {
  const canonical = canonicalPrefix(cidr);
  const [addr, len] = canonical.split('/') as [string, string];
  const family = ipFamily(addr);
  if (len === '0') return family === 4 ? ['0.0.0.0/1', '128.0.0.0/1'] : ['::/1', '8000::/1'];
  return [Number(len) === addressBits(family) ? addr : canonical];
}

const ofFamily = (f: Family) => (x: string) => {
  try {
    return ipFamily(x.split('/')[0]!) === f;
  } catch {
    return false;
  }
};

/** The port part of a rule, one per match ('' for every port and protocol). */
function portMatches(ports: RulePlan['ports']): string[] {
  if (ports === 'any') return [''];
  return ports.map((p: PortMatch) => {
    const proto = p.protocol.toLowerCase();
    if (p.port === undefined) return ` -p ${proto}`;
    return ` -p ${proto} --dport ${p.endPort !== undefined && p.endPort > p.port ? `${p.port}:${p.endPort}` : p.port}`;
  });
}

/** Renders the firewall for the pods on this node; pods isolated in no direction get no chain. */
export function renderFirewall(input: FirewallInput): FirewallRender {
  const sets = new Map<string, IpSetSpec>();
  const families = {} as Record<Family, FamilyRules>;
  const addSet = (type: IpSetSpec['type'], f: Family, members: string[]): string => {
    const sorted = [...new Set(members)].sort();
    const name = setName(type, f, sorted);
    if (!sets.has(name)) sets.set(name, { name, type, family: f === 4 ? 'inet' : 'inet6', members: sorted });
    return name;
  };

  // A rule's peers are one object shared by every pod the rule applies to: its content is
  // written out once for the policy chains' keys (not again for each pod it applies to).
  const peerKeys = new Map<RulePlan['peers'], string>();
  const peersId = (p: RulePlan['peers']): string => {
    if (p === 'any') return 'any';
    let key = peerKeys.get(p);
    if (key === undefined) peerKeys.set(p, (key = hash(JSON.stringify(p), 16)));
    return key;
  };

  /** A rule's content in short, once per rule object (the plan shares one among the pods it applies to). */
  const ruleKeys = new Map<RulePlan, string>();
  const ruleKey = (r: RulePlan): string => {
    let key = ruleKeys.get(r);
    if (key === undefined) ruleKeys.set(r, (key = `${peersId(r.peers)}:${JSON.stringify(r.ports)}`));
    return key;
  };

  for (const f of [4, 6] as const) {
    const top = { input: [] as string[], forward: [] as string[], output: [] as string[] };
    const podChains: string[] = [];
    const podRules: string[] = [];
    /** Policy chains made so far in this family: key -> name. */
    const policies = new Map<string, string>();
    const policyRules: string[] = [];
    for (const range of input.serviceRanges.filter(ofFamily(f)))
      top.input.push(`-A ${NP_INPUT} -d ${range} -m comment --comment "${COMMENT} service IPs: judged at the endpoint" -j RETURN`);
    if (input.nodePortRange)
      for (const proto of ['tcp', 'udp', 'sctp'])
        top.input.push(
          `-A ${NP_INPUT} -p ${proto} -m addrtype --dst-type LOCAL -m multiport --dports ${input.nodePortRange}` +
            ` -m comment --comment "${COMMENT} node ports: judged at the endpoint" -j RETURN`,
        );
    for (const range of (input.vipRanges ?? []).filter(ofFamily(f)))
      top.input.push(`-A ${NP_INPUT} -d ${range} -m comment --comment "${COMMENT} external and LB IPs: judged at the endpoint" -j RETURN`);

    /** The rules of one policy for one pod and direction, as a chain of their own (made once). */
    const chainOf = (direction: 'I' | 'E', policy: string, rules: readonly RulePlan[]): string => {
      const key = `${direction} ${policy} ${rules.map(ruleKey).join(' ')}`;
      let chain = policies.get(key);
      if (chain) return chain;
      chain = policyChain(`${f} ${key}`);
      policies.set(key, chain);
      const dir = direction === 'I' ? 'src' : 'dst';
      const peerFlag = direction === 'I' ? '-s' : '-d';
      policyRules.push(`:${chain}`);
      for (const rule of rules) {
        const peers: string[] = [];
        if (rule.peers === 'any') peers.push('');
        else {
          const ips = rule.peers.ips.filter(ofFamily(f));
          if (ips.length) peers.push(` -m set --match-set ${addSet('hash:ip', f, ips)} ${dir}`);
          for (const block of rule.peers.cidrs.filter((b) => ofFamily(f)(b.cidr))) {
            const members = [
              ...netMembers(block.cidr),
              ...block.except.filter(ofFamily(f)).flatMap((e) => netMembers(e).map((m) => `${m} nomatch`)),
            ];
            // A block of one host is a plain address match.
            if (members.length === 1 && !members[0]!.includes('/')) peers.push(` ${peerFlag} ${members[0]}/${addressBits(f)}`);
            else peers.push(` -m set --match-set ${addSet('hash:net', f, members)} ${dir}`);
          }
        }
        for (const peer of peers)
          for (const port of portMatches(rule.ports))
            policyRules.push(`-A ${chain}${peer}${port} -m comment --comment "${COMMENT} ${policy}" -j MARK --set-xmark ${ALLOWED}`);
      }
      return chain;
    };

    for (const pod of input.pods) {
      const ips = pod.ips.filter(ofFamily(f));
      if (ips.length === 0) continue;
      const who = `${pod.namespace}/${pod.name}`;
      for (const direction of ['E', 'I'] as const) {
        const plan = direction === 'I' ? pod.ingress : pod.egress;
        if (!plan) continue;
        const chain = podChain(direction, pod.namespace, pod.name);
        podChains.push(chain);
        for (const ip of ips) {
          const host = `${ip}/${addressBits(f)}`;
          if (direction === 'I') {
            top.forward.push(`-A ${NP_FORWARD} -d ${host} -m comment --comment "${COMMENT} to ${who}" -j ${chain}`);
            top.output.push(`-A ${NP_OUTPUT} -d ${host} -m comment --comment "${COMMENT} to ${who}" -j ${chain}`);
          } else {
            top.forward.push(`-A ${NP_FORWARD} -s ${host} -m comment --comment "${COMMENT} from ${who}" -j ${chain}`);
            top.input.push(`-A ${NP_INPUT} -s ${host} -m comment --comment "${COMMENT} from ${who}" -j ${chain}`);
          }
        }
        // Established flows go on whatever the rules now say (a policy change spares them).
        podRules.push(`-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`);
        podRules.push(`-A ${chain} -m conntrack --ctstate INVALID -j DROP`);
        // The node itself (kubelet probes) always reaches its pods.
        if (direction === 'I')
          podRules.push(`-A ${chain} -m addrtype --src-type LOCAL -m comment --comment "${COMMENT} from the node" -j RETURN`);
        podRules.push(`-A ${chain} -j MARK --set-xmark ${CLEARED}`);
        const byPolicy = new Map<string, RulePlan[]>();
        for (const rule of plan) {
          const list = byPolicy.get(rule.policy);
          if (list) list.push(rule);
          else byPolicy.set(rule.policy, [rule]);
        }
        for (const [policy, rules] of byPolicy)
          podRules.push(`-A ${chain} -m comment --comment "${COMMENT} ${policy}" -j ${chainOf(direction, policy, rules)}`);
        const what = direction === 'I' ? 'ingress' : 'egress';
        podRules.push(`-A ${chain} -m mark ! --mark ${ALLOWED} -m comment --comment "${COMMENT} ${what} of ${who}: not allowed" -j REJECT`);
        podRules.push(`-A ${chain} -j MARK --set-xmark ${CLEARED}`);
      }
    }
    if (input.defaultDeny) {
      const known = knownPodsSet(f);
      sets.set(known, {
        name: known,
        type: 'hash:ip',
        family: f === 4 ? 'inet' : 'inet6',
        members: [...new Set(input.pods.flatMap((p) => p.ips.filter(ofFamily(f))))].sort(),
      });
      const reject = (chain: string, flag: '-s' | '-d', dir: 'src' | 'dst', cidr: string): string =>
        `-A ${chain} ${flag} ${cidr} -m addrtype ! --${dir}-type LOCAL -m set ! --match-set ${known} ${dir}` +
        ` -m comment --comment "${COMMENT} not a known pod (default deny)" -j REJECT`;
      for (const cidr of input.defaultDeny.podCidrs.filter(ofFamily(f))) {
        top.forward.push(reject(NP_FORWARD, '-s', 'src', cidr), reject(NP_FORWARD, '-d', 'dst', cidr));
        top.input.push(reject(NP_INPUT, '-s', 'src', cidr));
        top.output.push(reject(NP_OUTPUT, '-d', 'dst', cidr));
      }
    }
    const policyChains = policyRules.filter((l) => l.startsWith(':')).map((l) => l.slice(1));
    families[f] = {
      chains: [NP_INPUT, NP_FORWARD, NP_OUTPUT, ...podChains, ...policyChains],
      rules: [...top.input, ...top.forward, ...top.output, ...podRules, ...policyRules.filter((l) => !l.startsWith(':'))],
    };
  }
  return { sets: [...sets.values()], families };
}

/**
 * The `iptables-restore --noflush` input for one family: every declared chain is flushed and
 * refilled in one transaction; chains of ours no longer wanted (`stale`) are emptied and deleted.
 */
export function restoreInput(r: FamilyRules, stale: readonly string[]): string {
  return ['*filter', ...[...r.chains, ...stale].map((c) => `:${c} - [0:0]`), ...r.rules, ...stale.map((c) => `-X ${c}`), 'COMMIT', ''].join(
    '\n',
  );
}
