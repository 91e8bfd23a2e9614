/**
 * The kernel's routing configuration over rtnetlink, through the `netlink` package: links,
 * addresses, routes. The package leaves IFLA_LINKINFO as raw nested attributes, which we encode
 * and decode here; its `new*` calls get explicit CREATE|REPLACE (idempotent) or CREATE|EXCL.
 * Runs in the network namespace of the process (the node's).
 */
import { getSystemErrorName } from 'node:util';
import { createRtNetlink, RtNetlinkSocket, type NetlinkMessage } from './netlink-lib';

import { formatIp, parseIp } from '../../net';
import { hardenNetlinkSocket } from './netlink-opts';

const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
export const CREATE_OR_REPLACE = NLM_F_CREATE | NLM_F_REPLACE;
export const CREATE_EXCLUSIVE = NLM_F_CREATE | NLM_F_EXCL;

const NETLINK_ROUTE = 0;
const AF_INET = 2;
const AF_INET6 = 10;
export const MAIN_TABLE = 254;
/** RT_SCOPE_UNIVERSE / RT_SCOPE_LINK, RTN_UNICAST. */
const SCOPE_UNIVERSE = 0;
const SCOPE_LINK = 253;
const RTN_UNICAST = 1;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
/** How long one request may wait for the kernel's answer. */
const REQUEST_TIMEOUT_MS = 10000;
/** FR_ACT_TO_TBL: a rule that looks up a table. */
const FR_ACT_TO_TBL = 1;
/** nlmsghdr and route message numbers (linux/netlink.h, linux/rtnetlink.h). */
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;
const NLM_F_DUMP = 0x300;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;
/** A delete matches the route whatever its scope, as `ip route del` asks. */
const SCOPE_NOWHERE = 255;
/** Route changes per datagram: their error replies must fit the receive buffer (about 200 KiB). */
const ROUTE_BATCH = 256;

export interface Link {
  index: number;
  name: string;
  kind: string | undefined;
  up: boolean;
  mtu: number | undefined;
  master: number | undefined;
  /** IFLA_INFO_DATA, one level decoded (a tunnel's IFLA_IPTUN_* attributes). */
  data: Map<number, Buffer> | undefined;
}

/** A policy routing rule: "from SRC lookup TABLE", or "fwmark MARK lookup TABLE". */
export interface Rule {
  family: 4 | 6;
  /** "10.244.1.0/24"; undefined for "from all". */
  src?: string;
  /** Packets with this firewall mark (the whole mark). */
  fwmark?: number;
  table: number;
  priority?: number;
  protocol: number;
}

export interface Address {
  index: number;
  /** "10.233.64.1/24" */
  cidr: string;
}

export interface Route {
  /** "10.233.65.0/24" */
  dst: string;
  gateway?: string;
  /** Interface index. */
  oif?: number;
  /** Preferred source address. */
  src?: string;
  protocol: number;
  table: number;
  /** Directly on a link (no gateway), scope link. */
  onLink?: boolean;
}

/** A nested netlink attribute: type and either raw bytes, a string, a u32, or children. */
export type Attr = { type: number; value: Buffer | string | number | Attr[] };

/** Encodes attributes (4-byte aligned, little-endian headers) for IFLA_LINKINFO and friends. */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const v = Array.isArray(a.value)
      ? encodeAttrs(a.value)
      : typeof a.value === 'string'
        ? Buffer.from(`${a.value}\0`)
        : typeof a.value === 'number'
          ? (() => {
              const b = Buffer.alloc(4);
              b.writeUInt32LE(a.value as number);
              return b;
            })()
          : a.value;
    const head = Buffer.alloc(4);
    head.writeUInt16LE(4 + v.length, 0);
    head.writeUInt16LE(a.type, 2);
    parts.push(head, v, Buffer.alloc((4 - ((4 + v.length) % 4)) % 4));
  }
  return Buffer.concat(parts);
}

/** Decodes one level of nested attributes. */
export function decodeAttrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let at = 0; at + 4 <= buf.length;) {
    const len = buf.readUInt16LE(at);
    if (len < 4 || at + len > buf.length) break;
    out.set(buf.readUInt16LE(at + 2) & 0x3fff, buf.subarray(at + 4, at + len));
    at += (len + 3) & ~3;
  }
  return out;
}

const cstr = (b: Buffer | undefined): string | undefined => (b ? b.toString('utf8').replace(/\0+$/, '') : undefined);

function toBytes(ip: string): Buffer {
  return parseIp(ip);
}

function fromBytes(b: Buffer): string {
  return formatIp(b);
}

function splitCidr(cidr: string): { addr: Buffer; len: number; family: number } {
  const [a, l] = cidr.split('/');
  const addr = toBytes(a!);
  return { addr, len: Number(l ?? addr.length * 8), family: addr.length === 4 ? AF_INET : AF_INET6 };
}

export type RouteChange = { op: 'replace'; route: Route } | { op: 'delete'; route: Pick<Route, 'dst' | 'protocol' | 'table'> };

/** The largest route request encoded: headers, then IPv6 destination, gateway and source, interface and table. */
const MAX_ROUTE_MESSAGE = 16 + 12 + 3 * 20 + 2 * 8;

/** Writes a route attribute with `value`'s bytes at `at`; returns the offset after it (4-aligned). */
function putAddrAttr(buf: Buffer, at: number, type: number, value: Buffer): number {
  buf.writeUInt16LE(4 + value.length, at);
  buf.writeUInt16LE(type, at + 2);
  value.copy(buf, at + 4);
  return at + 4 + value.length;
}

function putU32Attr(buf: Buffer, at: number, type: number, value: number): number {
  buf.writeUInt16LE(8, at);
  buf.writeUInt16LE(type, at + 2);
  buf.writeUInt32LE(value, at + 4);
  return at + 8;
}

/**
 * Writes one RTM_NEWROUTE (create or replace) or RTM_DELROUTE request at `at`, as iproute2
 * builds it: nlmsghdr, rtmsg, then RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC, and RTA_TABLE
 * for tables above 255. Returns the offset after it. Addresses are 4 or 16 bytes, so every
 * attribute stays 4-aligned without padding.
 */
export function writeRouteChange(buf: Buffer, at: number, c: RouteChange, seq: number, port: number, ack: boolean): number {
  const { addr, len, family } = splitCidr(c.route.dst);
  const table = c.route.table;
  const replace = c.op === 'replace';
  let end = putAddrAttr(buf, at + 28, RTA_DST, addr);
  let scope = SCOPE_NOWHERE;
  if (c.op === 'replace') {
    const r = c.route;
    if (r.gateway) end = putAddrAttr(buf, end, RTA_GATEWAY, toBytes(r.gateway));
    if (r.oif !== undefined) end = putU32Attr(buf, end, RTA_OIF, r.oif);
    if (r.src) end = putAddrAttr(buf, end, RTA_PREFSRC, toBytes(r.src));
    scope = r.gateway ? SCOPE_UNIVERSE : SCOPE_LINK;
  }
  if (table > 255) end = putU32Attr(buf, end, RTA_TABLE, table);
  buf.writeUInt32LE(end - at, at);
  buf.writeUInt16LE(replace ? RTM_NEWROUTE : RTM_DELROUTE, at + 4);
  buf.writeUInt16LE(NLM_F_REQUEST | (ack ? NLM_F_ACK : 0) | (replace ? CREATE_OR_REPLACE : 0), at + 6);
  buf.writeUInt32LE(seq, at + 8);
  buf.writeUInt32LE(port, at + 12);
  // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, then flags (u32).
  buf.writeUInt8(family, at + 16);
  buf.writeUInt8(len, at + 17);
  buf.writeUInt16LE(0, at + 18);
  buf.writeUInt8(table > 255 ? 0 : table, at + 20);
  buf.writeUInt8(c.route.protocol, at + 21);
  buf.writeUInt8(scope, at + 22);
  buf.writeUInt8(replace ? RTN_UNICAST : 0, at + 23);
  buf.writeUInt32LE(0, at + 24);
  return end;
}

/** A route message's body (struct rtmsg, then attributes) as a Route; undefined if it is not one. */
export function decodeRoute(data: Buffer): Route | undefined {
  if (data.length < 12) return undefined;
  const family = data[0];
  const size = family === AF_INET ? 4 : family === AF_INET6 ? 16 : 0;
  if (!size) return undefined;
  const dstLen = data[1]!;
  let table = data[4]!;
  let dst: string | undefined;
  const r = { protocol: data[5]!, table } as Route;
  if (data[6] === SCOPE_LINK) r.onLink = true;
  for (let at = 12; at + 4 <= data.length;) {
    const len = data.readUInt16LE(at);
    if (len < 4 || at + len > data.length) break;
    const type = data.readUInt16LE(at + 2) & 0x3fff;
    const v = data.subarray(at + 4, at + len);
    if (type === RTA_DST && v.length === size) dst = `${fromBytes(v)}/${dstLen}`;
    else if (type === RTA_GATEWAY && v.length === size) r.gateway = fromBytes(v);
    else if (type === RTA_OIF && v.length === 4) r.oif = v.readUInt32LE(0);
    else if (type === RTA_PREFSRC && v.length === size) r.src = fromBytes(v);
    else if (type === RTA_TABLE && v.length === 4) table = v.readUInt32LE(0);
    at += (len + 3) & ~3;
  }
  r.dst = dst ?? (size === 4 ? `0.0.0.0/${dstLen}` : `::/${dstLen}`);
  r.table = table;
  return r;
}

/** ENOENT/ESRCH on delete, EEXIST on exclusive create: the state already is what we want. */
function benign(e: unknown, codes: string[]): boolean {
  const m = (e as Error).message ?? '';
  return codes.some((c) => m.includes(c));
}

export class Rtnl {
  /** The tail of the request queue. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Our netlink port id, looked up once: the package otherwise asks the kernel on every send. */
  private readonly port: number;

  /** Why the socket could not be made to survive receive overruns (see netlink-opts.ts), if it could not. */
  readonly unhardened: string | undefined;

  private constructor(
    private readonly rawSocket: RtNetlinkSocket,
    onError: (err: Error) => void,
  ) {
    this.port = rawSocket.socket.address().port;
    this.unhardened = hardenNetlinkSocket(this.port, NETLINK_ROUTE);
    // The package re-emits receive errors (ENOBUFS, say) as 'error': unhandled, that kills the process.
    rawSocket.socket.on('error', onError);
  }

  /** Every request has a deadline: a reply lost (say, to a receive buffer overrun) must not stall a loop for good. */
  private opts(flags?: number): { localPort: number; timeout: number; flags?: number } {
    return flags === undefined
      ? { localPort: this.port, timeout: REQUEST_TIMEOUT_MS }
      : { localPort: this.port, timeout: REQUEST_TIMEOUT_MS, flags };
  }

  /**
   * One request at a time on the socket: the kernel refuses a second dump while one is running
   * on the same socket (EBUSY), and the package keeps one multipart reply at a time, so a reply
   * arriving in the middle of a dump garbles it. Callers (the sync and route tasks, the admin
   * API) may ask concurrently; they are queued here. (Pipelining changes was measured slower:
   * the cost is the package's per-message work, not the round trip.)
   */
  private exclusive<T>(fn: (s: RtNetlinkSocket) => Promise<T>): Promise<T> {
    const next = this.queue.then(
      () => fn(this.rawSocket),
      () => fn(this.rawSocket),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** A socket in this process's namespace; `onError` hears socket-level errors (requests still reject on their own). */
  static open(onError: (err: Error) => void = () => undefined): Rtnl {
    return new Rtnl(createRtNetlink(), onError);
  }

  close(): void {
    this.rawSocket.socket.close();
  }

  async links(): Promise<Link[]> {
    const msgs = await this.exclusive((s) => s.getLinks(undefined, undefined, this.opts()));
    return msgs.map((m) => {
      const info = m.attrs.linkinfo ? decodeAttrs(m.attrs.linkinfo as Buffer) : undefined;
      return {
        index: m.data.index!,
        name: m.attrs.ifname ?? '',
        kind: cstr(info?.get(IFLA_INFO_KIND)),
        up: !!m.data.flags?.up,
        mtu: m.attrs.mtu,
        master: m.attrs.master,
        data: info?.get(IFLA_INFO_DATA) ? decodeAttrs(info.get(IFLA_INFO_DATA)!) : undefined,
      };
    });
  }

  async link(name: string): Promise<Link | undefined> {
    return (await this.links()).find((l) => l.name === name);
  }

  /** Creates a link of `kind` with optional IFLA_INFO_DATA; EEXIST is not an error. */
  async createLink(name: string, kind: string, data?: Attr[], extra: Record<string, unknown> = {}): Promise<void> {
    const linkinfo = encodeAttrs([{ type: IFLA_INFO_KIND, value: kind }, ...(data ? [{ type: IFLA_INFO_DATA, value: data }] : [])]);
    try {
      await this.exclusive((s) => s.newLink({}, { ifname: name, linkinfo, ...extra }, this.opts(CREATE_EXCLUSIVE)));
    } catch (e) {
      if (!benign(e, ['EEXIST'])) throw e;
    }
  }

  async setLink(index: number, change: { up?: boolean; mtu?: number; master?: number }): Promise<void> {
    const attrs: Record<string, unknown> = {};
    if (change.mtu !== undefined) attrs.mtu = change.mtu;
    if (change.master !== undefined) attrs.master = change.master;
    // Flags are set through a change mask: "up" changes, to on or off.
    const data =
      change.up === undefined ? { index } : { index, flags: change.up ? { up: true as const } : {}, change: { up: true as const } };
    await this.exclusive((s) => s.setLink(data, attrs, this.opts()));
  }

  async deleteLink(index: number): Promise<void> {
    try {
      await this.exclusive((s) => s.delLink({ index }, undefined, this.opts()));
    } catch (e) {
      if (!benign(e, ['ENODEV', 'ENOENT'])) throw e;
    }
  }

  async addresses(index?: number): Promise<Address[]> {
    const msgs = await this.exclusive((s) => s.getAddresses(undefined, undefined, this.opts()));
    return msgs
      .filter((m) => index === undefined || m.data.index === index)
      .filter((m) => m.attrs.address || m.attrs.local)
      .map((m) => ({ index: m.data.index!, cidr: `${fromBytes((m.attrs.local ?? m.attrs.address) as Buffer)}/${m.data.prefixlen}` }));
  }

  /** `scope` 'link' keeps the address from being picked as a source (kube-dummy-if's VIPs). */
  async addAddress(index: number, cidr: string, scope: 'universe' | 'link' = 'universe'): Promise<void> {
    const { addr, len, family } = splitCidr(cidr);
    try {
      await this.exclusive((s) =>
        s.newAddress(
          { family, prefixlen: len, index, scope: scope === 'link' ? SCOPE_LINK : SCOPE_UNIVERSE },
          { local: addr, address: addr },
          this.opts(CREATE_OR_REPLACE),
        ),
      );
    } catch (e) {
      if (!benign(e, ['EEXIST'])) throw e;
    }
  }

  async deleteAddress(index: number, cidr: string): Promise<void> {
    const { addr, len, family } = splitCidr(cidr);
    try {
      await this.exclusive((s) => s.delAddress({ family, prefixlen: len, index }, { local: addr, address: addr }, this.opts()));
    } catch (e) {
      if (!benign(e, ['EADDRNOTAVAIL', 'ENOENT', 'ENODEV'])) throw e;
    }
  }

  /**
   * Routes of both families, optionally only those of one protocol number and table. One dump,
   * decoded here from the raw messages: the package's generic decoding of every attribute cost
   * three times what `ip route show` takes for 10,000 routes, and every periodic sync pays it.
   */
  async routes(filter: { protocol?: number; table?: number } = {}): Promise<Route[]> {
    const out: Route[] = [];
    for (const m of await this.routeDump()) {
      const r = m.type === RTM_NEWROUTE ? decodeRoute(m.data) : undefined;
      if (
        !r ||
        (filter.protocol !== undefined && r.protocol !== filter.protocol) ||
        (filter.table !== undefined && r.table !== filter.table)
      )
        continue;
      out.push(r);
    }
    return out;
  }

  /**
   * Routes of both families in all tables, counted by routing protocol number: one dump, of each
   * route only its header read (the metrics count them at every scrape).
   */
  async routeCountsByProtocol(): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const { type, data } of await this.routeDump())
      if (type === RTM_NEWROUTE && data.length >= 12 && (data[0] === AF_INET || data[0] === AF_INET6))
        counts.set(data[5]!, (counts.get(data[5]!) ?? 0) + 1);
    return counts;
  }

  /** The raw messages of one dump of every route, both families, all tables. */
  private async routeDump(): Promise<{ type: number; data: Buffer }[]> {
    const [msgs] = await this.exclusive((s) => s.socket.request(RTM_GETROUTE, Buffer.alloc(12), this.opts(NLM_F_DUMP)));
    return msgs;
  }

  /** Adds or replaces a route (idempotent). */
  async replaceRoute(r: Route): Promise<void> {
    const [err] = await this.changeRoutes([{ op: 'replace', route: r }]);
    if (err) throw err;
  }

  /** Deletes our route to `dst`, if there is one. */
  async deleteRoute(r: Pick<Route, 'dst' | 'protocol' | 'table'>): Promise<void> {
    const [err] = await this.changeRoutes([{ op: 'delete', route: r }]);
    if (err) throw err;
  }

  /**
   * Applies many route changes with few system calls: up to ROUTE_BATCH requests per datagram,
   * only the last asking for an acknowledgement (the kernel answers a failed request whatever its
   * flags, and handles a datagram's requests in order, so the last one's answer means every
   * earlier answer has arrived). Resolves with one entry per change: undefined when done (a
   * delete of a route already gone counts as done), else the kernel's refusal.
   */
  async changeRoutes(changes: readonly RouteChange[]): Promise<(Error | undefined)[]> {
    const results: (Error | undefined)[] = new Array<Error | undefined>(changes.length).fill(undefined);
    await this.exclusive(async (s) => {
      for (let from = 0; from < changes.length; from += ROUTE_BATCH)
        await this.routeBatch(s, changes, from, Math.min(changes.length, from + ROUTE_BATCH), results);
    });
    return results;
  }

  private routeBatch(
    rt: RtNetlinkSocket,
    changes: readonly RouteChange[],
    from: number,
    to: number,
    results: (Error | undefined)[],
  ): Promise<void> {
    // Below the package's route layer: its generic socket hears the raw answers (no request of
    // its own waits for these sequence numbers, so each answer comes out as a 'message' event).
    const s = rt.socket;
    return new Promise((resolve, reject) => {
      const index = new Map<number, number>();
      const datagram = Buffer.allocUnsafe((to - from) * MAX_ROUTE_MESSAGE);
      let size = 0;
      let last = 0;
      for (let i = from; i < to; i++) {
        last = s.generateSeq();
        index.set(last, i);
        size = writeRouteChange(datagram, size, changes[i]!, last, this.port, i === to - 1);
      }
      const onMessage = (msgs: NetlinkMessage[]): void => {
        for (const m of msgs) {
          const i = index.get(m.seq);
          if (m.type !== NLMSG_ERROR || i === undefined || m.data.length < 4) continue;
          const errno = -m.data.readInt32LE(0);
          if (errno !== 0) {
            const name = getSystemErrorName(-errno);
            const gone = changes[i]!.op === 'delete' && (name === 'ESRCH' || name === 'ENOENT');
            if (!gone) results[i] = new Error(`Request rejected: ${name}`);
          }
          if (m.seq === last) finish();
        }
      };
      const timer = setTimeout(
        () => finish(new Error(`no answer to ${to - from} route changes in ${REQUEST_TIMEOUT_MS / 1000} s`)),
        REQUEST_TIMEOUT_MS,
      );
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        s.off('message', onMessage);
        if (err) reject(err);
        else resolve();
      };
      s.on('message', onMessage);
      s.socket.send(datagram.subarray(0, size), {}, (err) => err && finish(err));
    });
  }

  async rules(family: 4 | 6): Promise<Rule[]> {
    const msgs = await this.exclusive((s) => s.getRules({ family: family === 4 ? AF_INET : AF_INET6 }, undefined, this.opts()));
    return msgs.map((m) => {
      const r: Rule = {
        family,
        table: Number(m.attrs.table ?? m.data.table ?? 0),
        protocol: Number(m.attrs.protocol ?? 0),
      };
      if (m.attrs.src) r.src = `${fromBytes(m.attrs.src as Buffer)}/${m.data.srcLen}`;
      if (m.attrs.priority !== undefined) r.priority = m.attrs.priority;
      if (m.attrs.fwmark) r.fwmark = m.attrs.fwmark;
      return r;
    });
  }

  /** Adds a rule; an identical one already there is not an error. */
  async addRule(r: Rule): Promise<void> {
    try {
      await this.exclusive((s) => s.newRule(this.ruleData(r), this.ruleAttrs(r), this.opts(CREATE_EXCLUSIVE)));
    } catch (e) {
      if (!benign(e, ['EEXIST'])) throw e;
    }
  }

  async deleteRule(r: Rule): Promise<void> {
    try {
      await this.exclusive((s) => s.delRule(this.ruleData(r), this.ruleAttrs(r), this.opts()));
    } catch (e) {
      if (!benign(e, ['ENOENT'])) throw e;
    }
  }

  private ruleData(r: Rule) {
    const srcLen = r.src ? Number(r.src.split('/')[1]) : 0;
    return { family: r.family === 4 ? AF_INET : AF_INET6, srcLen, table: r.table > 255 ? 0 : r.table, action: FR_ACT_TO_TBL };
  }

  private ruleAttrs(r: Rule): Record<string, unknown> {
    const attrs: Record<string, unknown> = { table: r.table, protocol: r.protocol };
    if (r.src) attrs.src = splitCidr(r.src).addr;
    if (r.priority !== undefined) attrs.priority = r.priority;
    if (r.fwmark !== undefined) attrs.fwmark = r.fwmark;
    return attrs;
  }
}
