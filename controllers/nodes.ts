/**
 * Nodes controller: from the Node objects to desired state. For this node: its addresses, pod
 * CIDRs (spec.podCIDRs, or the kube-router.io/pod-cidr(s) annotation), ASN and BGP extras from
 * annotations. For the cluster: the iBGP peers kube-router would pick (full mesh, same-ASN mesh,
 * or route reflector roles), and every node's IPs and pod CIDRs (the ipsets). Pure: no I/O.
 */
import { canonicalIp, canonicalPrefix, ipFamily, isIp } from '../net';
import {
  ANNOTATIONS,
  PeerAnnotation,
  Parsed,
  parseAsn,
  parseCidrList,
  parseClusterId,
  parseCommunities,
  parseIpList,
  parseLegacyPeers,
  parsePeersYaml,
} from './annotations';
import type { Problems } from './problems';

/** The fields of a v1 Node this controller reads. */
export interface NodeObject {
  metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: { podCIDR?: string; podCIDRs?: string[]; providerID?: string };
  status?: { addresses?: { type: string; address: string }[] };
}

export interface NodeInfo {
  name: string;
  ipv4?: string;
  ipv6?: string;
  podCidrs: string[];
  /** From kube-router.io/node.asn, when set and valid. */
  asn?: number;
  rrServer?: string;
  rrClient?: string;
}

export interface LocalNode extends NodeInfo {
  communities: number[];
  prepend?: { asn: number; times: number };
  /** Node-specific external peers (kube-router.io/peers, or the deprecated peer.* annotations). */
  peers: PeerAnnotation[];
  localAddresses: string[];
  importReject: string[];
}

export interface InternalPeer {
  node: string;
  address: string;
  asn: number;
  /** We are a route reflector and this peer is our client. */
  rrClient: boolean;
}

export interface NodesDesired {
  local: LocalNode | undefined;
  nodes: NodeInfo[];
  internalPeers: InternalPeer[];
  /** ipset kube-router-pod-subnets / kube-router-node-ips (per family). */
  podSubnets: string[];
  nodeIps: string[];
}

export interface NodesOptions {
  nodeName: string;
  clusterAsn: number;
  fullMesh: boolean;
  enableIbgp: boolean;
  ipv4: boolean;
  ipv6: boolean;
}

function annotation(n: NodeObject, key: string): string | undefined {
  return n.metadata?.annotations?.[key];
}

/**
 * No annotation of ours needs more: longer ones are refused unread (the API server allows
 * 256 KiB for all of an object's annotations, and each is parsed on every sync).
 */
export const MAX_ANNOTATION_LENGTH = 16384;

/** Parses annotation `key` when present: the value, or undefined after reporting why it was refused. */
function parsedAnnotation<T>(n: NodeObject, key: string, parse: (text: string) => Parsed<T>, problems: Problems): T | undefined {
  const text = annotation(n, key);
  if (text === undefined) return undefined;
  const r: Parsed<T> =
    text.length > MAX_ANNOTATION_LENGTH
      ? { ok: false, error: `${text.length} characters; at most ${MAX_ANNOTATION_LENGTH} are read` }
      : parse(text);
  if (r.ok) return r.value;
  problems.report(`node/${n.metadata?.name ?? '?'}`, key, r.error);
  return undefined;
}

/** InternalIP first, ExternalIP otherwise, per family (kube-router's choice of node IP). */
function nodeIps(n: NodeObject): { ipv4?: string; ipv6?: string } {
  const out: { ipv4?: string; ipv6?: string } = {};
  for (const type of ['InternalIP', 'ExternalIP']) {
    for (const a of n.status?.addresses ?? []) {
      if (a.type !== type || !isIp(a.address)) continue;
      const ip = canonicalIp(a.address);
      if (ipFamily(ip) === 4) out.ipv4 ??= ip;
      else out.ipv6 ??= ip;
    }
  }
  return out;
}

function podCidrs(n: NodeObject, name: string, problems: Problems): string[] {
  for (const key of [ANNOTATIONS.podCidrs, ANNOTATIONS.podCidr]) {
    const text = annotation(n, key);
    if (text === undefined) continue;
    const parsed = parseCidrList(text);
    if (parsed.ok && parsed.value.length) return parsed.value;
    problems.report(`node/${name}`, key, parsed.ok ? 'empty' : parsed.error);
  }
  const fromSpec = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
  const out: string[] = [];
  for (const c of fromSpec) {
    try {
      out.push(canonicalPrefix(c));
    } catch {
      problems.report(`node/${name}`, 'spec.podCIDRs', `${JSON.stringify(c)} is not a CIDR`);
    }
  }
  return out;
}

function nodeInfo(n: NodeObject, problems: Problems): NodeInfo | undefined {
  const name = n.metadata?.name;
  if (!name) return undefined;
  const info: NodeInfo = { name, ...nodeIps(n), podCidrs: podCidrs(n, name, problems) };
  const asn = parsedAnnotation(n, ANNOTATIONS.nodeAsn, parseAsn, problems);
  if (asn !== undefined) info.asn = asn;
  for (const [key, field] of [
    [ANNOTATIONS.rrServer, 'rrServer'],
    [ANNOTATIONS.rrClient, 'rrClient'],
  ] as const) {
    const id = parsedAnnotation(n, key, parseClusterId, problems);
    if (id !== undefined) info[field] = id;
  }
  return info;
}

function localExtras(n: NodeObject, base: NodeInfo, problems: Problems): LocalNode {
  const where = `node/${base.name}`;
  const local: LocalNode = { ...base, communities: [], peers: [], localAddresses: [], importReject: [] };
  local.communities = parsedAnnotation(n, ANNOTATIONS.communities, parseCommunities, problems) ?? [];
  const prependAs = annotation(n, ANNOTATIONS.prependAs);
  const prependN = annotation(n, ANNOTATIONS.prependRepeat);
  if (prependAs !== undefined || prependN !== undefined) {
    const asn = parseAsn(prependAs ?? '');
    const times = Number(prependN);
    if (!asn.ok) problems.report(where, ANNOTATIONS.prependAs, asn.error);
    else if (!Number.isInteger(times) || times < 1 || times > 64)
      problems.report(where, ANNOTATIONS.prependRepeat, `${JSON.stringify(prependN)} is not a repeat count (1-64)`);
    else local.prepend = { asn: asn.value, times };
  }
  if (annotation(n, ANNOTATIONS.peers) !== undefined) {
    local.peers = parsedAnnotation(n, ANNOTATIONS.peers, parsePeersYaml, problems) ?? [];
  } else {
    const legacy = parseLegacyPeers(n.metadata?.annotations ?? {});
    if (legacy.ok) local.peers = legacy.value;
    else problems.report(where, 'kube-router.io/peer.*', legacy.error);
  }
  local.localAddresses = parsedAnnotation(n, ANNOTATIONS.localAddresses, parseIpList, problems) ?? [];
  local.importReject = parsedAnnotation(n, ANNOTATIONS.customImportReject, parseCidrList, problems) ?? [];
  return local;
}

/** The address a node is peered on: its IPv4 address unless the cluster is IPv6 only. */
export const primaryIp = (n: NodeInfo, o: Pick<NodesOptions, 'ipv4'>): string | undefined => (o.ipv4 ? n.ipv4 : n.ipv6);

export function computeNodes(objects: readonly NodeObject[], o: NodesOptions, problems: Problems): NodesDesired {
  const nodes = objects.map((n) => nodeInfo(n, problems)).filter((n): n is NodeInfo => n !== undefined);
  const localObj = objects.find((n) => n.metadata?.name === o.nodeName);
  const localBase = nodes.find((n) => n.name === o.nodeName);
  const local = localObj && localBase ? localExtras(localObj, localBase, problems) : undefined;

  const internalPeers: InternalPeer[] = [];
  const localIp = local && primaryIp(local, o);
  if (local && localIp && o.enableIbgp) {
    const localAsn = o.fullMesh ? o.clusterAsn : local.asn;
    if (!o.fullMesh && local.asn === undefined)
      problems.report(`node/${local.name}`, ANNOTATIONS.nodeAsn, 'required when --nodes-full-mesh=false');
    for (const n of nodes) {
      const ip = primaryIp(n, o);
      if (n.name === local.name || !ip || ip === localIp || localAsn === undefined) continue;
      // kube-router bgp_peers.go: a reflector client peers only with reflector servers (here: of
      // its own cluster), a reflector with no other cluster's clients; without the full mesh
      // only nodes of the same ASN peer.
      if (local.rrClient !== undefined && n.rrServer !== local.rrClient) continue;
      if (local.rrServer !== undefined && n.rrClient !== undefined && n.rrClient !== local.rrServer) continue;
      if (!o.fullMesh && n.asn !== localAsn) continue;
      internalPeers.push({
        node: n.name,
        address: ip,
        asn: localAsn,
        rrClient: local.rrServer !== undefined && n.rrClient === local.rrServer,
      });
    }
  }
  const fam = (c: string): boolean => (ipFamily(c) === 6 ? o.ipv6 : o.ipv4);
  return {
    local,
    nodes,
    internalPeers,
    podSubnets: [...new Set(nodes.flatMap((n) => n.podCidrs).filter(fam))].sort(),
    nodeIps: [...new Set(nodes.flatMap((n) => [n.ipv4, n.ipv6]).filter((x): x is string => !!x && fam(x)))].sort(),
  };
}
