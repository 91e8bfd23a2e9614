/**
 * kube-router's node and service annotations, parsed. Every parser returns a value or an error
 * message; callers log a bad annotation once and carry on without it (a garbage annotation is
 * never fatal and never drops valid state).
 */
import yaml from 'js-yaml';
import { canonicalIp, canonicalPrefix, isIp, isIpv4 } from '../net';
import { DEFAULT_BFD, bfdSettingError } from '../bgp';
import type { BfdSettings } from '../bgp';

export const ANNOTATIONS = {
  nodeAsn: 'kube-router.io/node.asn',
  peers: 'kube-router.io/peers',
  peerIps: 'kube-router.io/peer.ips',
  peerAsns: 'kube-router.io/peer.asns',
  peerPasswords: 'kube-router.io/peer.passwords',
  peerLocalIps: 'kube-router.io/peer.localips',
  rrServer: 'kube-router.io/rr.server',
  rrClient: 'kube-router.io/rr.client',
  communities: 'kube-router.io/node.bgp.communities',
  customImportReject: 'kube-router.io/node.bgp.customimportreject',
  prependAs: 'kube-router.io/path-prepend.as',
  prependRepeat: 'kube-router.io/path-prepend.repeat-n',
  localAddresses: 'kube-router.io/bgp-local-addresses',
  podCidr: 'kube-router.io/pod-cidr',
  podCidrs: 'kube-router.io/pod-cidrs',
  svcAdvertiseClusterIp: 'kube-router.io/service.advertise.clusterip',
  svcAdvertiseExternalIp: 'kube-router.io/service.advertise.externalip',
  svcAdvertiseLoadBalancerIp: 'kube-router.io/service.advertise.loadbalancerip',
  svcLocal: 'kube-router.io/service.local',
  svcSkipLbIps: 'kube-router.io/service.skiplbips',
  svcScheduler: 'kube-router.io/service.scheduler',
  svcSchedFlags: 'kube-router.io/service.schedflags',
  svcHairpin: 'kube-router.io/service.hairpin',
  svcHairpinExternalIps: 'kube-router.io/service.hairpin.externalips',
  svcDsr: 'kube-router.io/service.dsr',
} as const;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

const list = (text: string): string[] => text.split(',').map((s) => s.trim());

export function parseAsn(text: string): Parsed<number> {
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= 1 && n <= 4294967295 ? ok(n) : bad(`${JSON.stringify(text)} is not an AS number`);
}

export function parseIpList(text: string): Parsed<string[]> {
  const items = list(text).filter(Boolean);
  const badOne = items.find((s) => !isIp(s));
  return badOne !== undefined ? bad(`${JSON.stringify(badOne)} is not an IP address`) : ok(items.map(canonicalIp));
}

export function parseCidrList(text: string): Parsed<string[]> {
  const out: string[] = [];
  for (const s of list(text).filter(Boolean)) {
    try {
      out.push(canonicalPrefix(s));
    } catch {
      return bad(`${JSON.stringify(s)} is not a CIDR`);
    }
  }
  return ok(out);
}

/** A base64 password as kube-router takes them ("" means none). */
export function parsePassword(text: string | undefined): Parsed<string | undefined> {
  if (text === undefined || text === '') return ok(undefined);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return bad('passwords must be base64-encoded');
  const key = Buffer.from(text, 'base64').toString('utf8').replace(/\n$/, '');
  const bytes = Buffer.byteLength(key);
  return bytes >= 1 && bytes <= 80 ? ok(key) : bad(`a TCP MD5 key has 1 to 80 bytes (this one has ${bytes})`);
}

export interface PeerAnnotation {
  address: string;
  asn: number;
  port: number;
  password?: string;
  localAddress?: string;
  /** Most prefixes accepted per family (kube-router-ts's `maxprefixes` field). */
  maxPrefixes?: number;
  /** The entry's `bfd:` block, when it says `enabled: true`. */
  bfd?: BfdSettings;
}

const BFD_FIELDS: [string, keyof BfdSettings][] = [
  ['port', 'port'],
  ['detection_multiplier', 'detectMultiplier'],
  ['desired_min_tx_interval', 'desiredMinTxMs'],
  ['required_min_rx_interval', 'requiredMinRxMs'],
];

/**
 * A kube-router.io/peers entry's `bfd:` block as kube-router reads it: {enabled, port,
 * detection_multiplier, required_min_rx_interval, desired_min_tx_interval} (intervals in ms),
 * each missing value at kube-router's default; undefined when not enabled.
 */
function parseBfdBlock(raw: unknown): Parsed<BfdSettings | undefined> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return bad('must be a mapping');
  const b = raw as Record<string, unknown>;
  const unknown = Object.keys(b).find((k) => k !== 'enabled' && !BFD_FIELDS.some(([name]) => name === k));
  if (unknown) return bad(`unknown field ${unknown}`);
  if (b.enabled !== undefined && typeof b.enabled !== 'boolean') return bad(`enabled ${JSON.stringify(b.enabled)} is not true or false`);
  const out: BfdSettings = { ...DEFAULT_BFD };
  for (const [name, field] of BFD_FIELDS) {
    if (b[name] === undefined) continue;
    const error = bfdSettingError(field, Number(b[name]));
    if (error) return bad(`${name}: ${error.replace(/^\S+/, JSON.stringify(b[name]))}`);
    out[field] = Number(b[name]);
  }
  return ok(b.enabled === true ? out : undefined);
}

/** kube-router.io/peers: a YAML list of {remoteip, remoteasn, localip?, password?, port?, bfd?, maxprefixes?}. */
export function parsePeersYaml(text: string): Parsed<PeerAnnotation[]> {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    return bad(`not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(doc)) return bad('must be a YAML list of peers');
  const out: PeerAnnotation[] = [];
  for (const [i, raw] of doc.entries()) {
    const p = raw as Record<string, unknown>;
    if (!p || typeof p !== 'object') return bad(`entry ${i} is not a mapping`);
    const known = new Set(['remoteip', 'remoteasn', 'localip', 'password', 'port', 'bfd', 'maxprefixes']);
    const unknown = Object.keys(p).find((k) => !known.has(k));
    if (unknown) return bad(`entry ${i}: unknown field ${unknown}`);
    const address = String(p.remoteip ?? '');
    if (!isIp(address)) return bad(`entry ${i}: remoteip ${JSON.stringify(p.remoteip)} is not an IP address`);
    const asn = parseAsn(String(p.remoteasn ?? ''));
    if (!asn.ok) return bad(`entry ${i}: remoteasn: ${asn.error}`);
    const port = p.port === undefined ? 179 : Number(p.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return bad(`entry ${i}: port ${JSON.stringify(p.port)} is not a port`);
    const pw = parsePassword(p.password === undefined ? undefined : String(p.password));
    if (!pw.ok) return bad(`entry ${i}: password: ${pw.error}`);
    const peer: PeerAnnotation = { address: canonicalIp(address), asn: asn.value, port };
    if (pw.value) peer.password = pw.value;
    if (p.maxprefixes !== undefined) {
      const n = Number(p.maxprefixes);
      if (!Number.isInteger(n) || n < 1 || n > 4294967295)
        return bad(`entry ${i}: maxprefixes ${JSON.stringify(p.maxprefixes)} is not a prefix count (1 or more)`);
      peer.maxPrefixes = n;
    }
    if (p.bfd !== undefined && p.bfd !== null) {
      const bfd = parseBfdBlock(p.bfd);
      if (!bfd.ok) return bad(`entry ${i}: bfd: ${bfd.error}`);
      if (bfd.value) peer.bfd = bfd.value;
    }
    if (p.localip !== undefined) {
      if (!isIp(String(p.localip))) return bad(`entry ${i}: localip ${JSON.stringify(p.localip)} is not an IP address`);
      peer.localAddress = canonicalIp(String(p.localip));
    }
    out.push(peer);
  }
  return ok(out);
}

/** The deprecated kube-router.io/peer.{ips,asns,passwords,localips} annotations, zipped. */
export function parseLegacyPeers(a: Record<string, string>): Parsed<PeerAnnotation[]> {
  const ipsText = a[ANNOTATIONS.peerIps];
  if (ipsText === undefined) return ok([]);
  const addrs = parseIpList(ipsText);
  if (!addrs.ok) return bad(`${ANNOTATIONS.peerIps}: ${addrs.error}`);
  const asnItems = list(a[ANNOTATIONS.peerAsns] ?? '').filter(Boolean);
  if (asnItems.length !== addrs.value.length) return bad(`${ANNOTATIONS.peerAsns} needs one AS number per ${ANNOTATIONS.peerIps} entry`);
  const pwItems = a[ANNOTATIONS.peerPasswords] === undefined ? [] : list(a[ANNOTATIONS.peerPasswords]!);
  if (pwItems.length && pwItems.length !== addrs.value.length)
    return bad(`${ANNOTATIONS.peerPasswords} needs one entry (possibly empty) per peer`);
  const localItems = a[ANNOTATIONS.peerLocalIps] === undefined ? [] : list(a[ANNOTATIONS.peerLocalIps]!);
  if (localItems.length && localItems.length !== addrs.value.length) return bad(`${ANNOTATIONS.peerLocalIps} needs one entry per peer`);
  const out: PeerAnnotation[] = [];
  for (const [i, address] of addrs.value.entries()) {
    const asn = parseAsn(asnItems[i]!);
    if (!asn.ok) return bad(`${ANNOTATIONS.peerAsns}: ${asn.error}`);
    const pw = parsePassword(pwItems[i]);
    if (!pw.ok) return bad(`${ANNOTATIONS.peerPasswords}: ${pw.error}`);
    const peer: PeerAnnotation = { address, asn: asn.value, port: 179 };
    if (pw.value) peer.password = pw.value;
    if (localItems[i]) {
      if (!isIp(localItems[i]!)) return bad(`${ANNOTATIONS.peerLocalIps}: ${JSON.stringify(localItems[i])} is not an IP address`);
      peer.localAddress = localItems[i]!;
    }
    out.push(peer);
  }
  return ok(out);
}

/** RFC 1997 and later well-known communities, by the names GoBGP (and kube-router) accept. */
const WELL_KNOWN_COMMUNITIES: Record<string, number> = {
  'graceful-shutdown': 0xffff0000,
  'accept-own': 0xffff0001,
  'llgr-stale': 0xffff0006,
  'no-llgr': 0xffff0007,
  blackhole: 0xffff029a,
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'no-peer': 0xffffff04,
};

/**
 * Communities a node may ask for: with them, a pod CIDR's UPDATE must still fit in 4096 octets
 * at its largest (IPv6 /128 in MP_REACH with a link-local next hop, AS path prepended 64 times
 * and written twice toward a 2-octet-AS peer, MED and LOCAL_PREF): 500 leaves ~1.5 kB spare.
 */
export const MAX_COMMUNITIES = 500;

/** Communities as a 32-bit number, "a:b", or a well-known name; at most MAX_COMMUNITIES. */
export function parseCommunities(text: string): Parsed<number[]> {
  const out: number[] = [];
  const items = list(text).filter(Boolean);
  if (items.length > MAX_COMMUNITIES)
    return bad(`${items.length} communities; at most ${MAX_COMMUNITIES} fit in a BGP UPDATE with the rest of a route`);
  for (const item of items) {
    const named = WELL_KNOWN_COMMUNITIES[item.toLowerCase()];
    if (named !== undefined) out.push(named);
    else if (/^\d+:\d+$/.test(item)) {
      const [hi, lo] = item.split(':').map(Number) as [number, number];
      if (hi > 0xffff || lo > 0xffff) return bad(`${JSON.stringify(item)}: both halves must be 0-65535`);
      out.push(hi * 65536 + lo);
    } else if (/^\d+$/.test(item) && Number(item) <= 0xffffffff) out.push(Number(item));
    else return bad(`${JSON.stringify(item)} is not a community (a number, a:b, or a well-known name)`);
  }
  return ok(out);
}

/** Route reflector cluster ID: a 32-bit number or an IPv4 address, as an IPv4 address. */
export function parseClusterId(text: string): Parsed<string> {
  const t = text.trim();
  if (isIpv4(t)) return ok(t);
  const n = Number(t);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    return bad(`${JSON.stringify(text)} is not a cluster ID (a 32-bit number or an IPv4 address)`);
  return ok([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
}

/** Service annotations are booleans as Go's strconv.ParseBool reads them. */
export function parseBool(text: string): Parsed<boolean> {
  const t = text.trim();
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(t)) return ok(true);
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(t)) return ok(false);
  return bad(`${JSON.stringify(text)} is not a boolean`);
}
