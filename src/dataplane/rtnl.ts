/**
 * The kernel's routing configuration over rtnetlink, through the `netlink` package: links,
 * addresses, routes. The package leaves IFLA_LINKINFO as raw nested attributes, which we encode
 * and decode here; its `new*` calls get explicit CREATE|REPLACE (idempotent) or CREATE|EXCL.
 * Runs in the network namespace of the process (the node's).
 */
import { createRtNetlink, RtNetlinkSocket, rt } from 'netlink';

const RouteProtocol = rt.RouteProtocol;
import { formatIp, parseIp } from '../../net';

const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
export const CREATE_OR_REPLACE = NLM_F_CREATE | NLM_F_REPLACE;
export const CREATE_EXCLUSIVE = NLM_F_CREATE | NLM_F_EXCL;

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

/** A policy routing rule: "from SRC lookup TABLE". */
export interface Rule {
  family: 4 | 6;
  /** "10.244.1.0/24"; undefined for "from all". */
  src?: string;
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

  private constructor(
    private readonly rawSocket: RtNetlinkSocket,
    onError: (err: Error) => void,
  ) {
    this.port = rawSocket.socket.address().port;
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

  /** Routes of both families, optionally only those of one protocol number and table. */
  async routes(filter: { protocol?: number; table?: number } = {}): Promise<Route[]> {
    const msgs = await this.exclusive((s) => s.getRoutes(undefined, undefined, this.opts()));
    const out: Route[] = [];
    for (const m of msgs) {
      const table = Number(m.attrs.table ?? m.data.table ?? 0);
      // The package names known protocol numbers ("KERNEL"); unnamed ones stay numbers.
      const protocol =
        typeof m.data.protocol === 'string' ? RouteProtocol[m.data.protocol as keyof typeof RouteProtocol] : Number(m.data.protocol ?? 0);
      if (filter.protocol !== undefined && protocol !== filter.protocol) continue;
      if (filter.table !== undefined && table !== filter.table) continue;
      const family = m.data.family === AF_INET ? 4 : 16;
      const dst = m.attrs.dst
        ? `${fromBytes(m.attrs.dst as Buffer)}/${m.data.dstLen}`
        : family === 4
          ? `0.0.0.0/${m.data.dstLen}`
          : `::/${m.data.dstLen}`;
      const r: Route = { dst, protocol, table };
      if (m.attrs.gateway) r.gateway = fromBytes(m.attrs.gateway as Buffer);
      if (m.attrs.oif !== undefined) r.oif = m.attrs.oif;
      if (m.attrs.prefsrc) r.src = fromBytes(m.attrs.prefsrc as Buffer);
      if (m.data.scope === 'LINK') r.onLink = true;
      out.push(r);
    }
    return out;
  }

  /** Adds or replaces a route (idempotent). */
  async replaceRoute(r: Route): Promise<void> {
    const { addr, len, family } = splitCidr(r.dst);
    const attrs: Record<string, unknown> = { dst: addr };
    if (r.gateway) attrs.gateway = toBytes(r.gateway);
    if (r.oif !== undefined) attrs.oif = r.oif;
    if (r.src) attrs.prefsrc = toBytes(r.src);
    if (r.table > 255) attrs.table = r.table;
    await this.exclusive((s) =>
      s.newRoute(
        {
          family,
          dstLen: len,
          table: r.table > 255 ? 0 : r.table,
          protocol: r.protocol,
          scope: r.gateway ? SCOPE_UNIVERSE : SCOPE_LINK,
          type: RTN_UNICAST,
        },
        attrs,
        this.opts(CREATE_OR_REPLACE),
      ),
    );
  }

  async deleteRoute(r: Pick<Route, 'dst' | 'protocol' | 'table'>): Promise<void> {
    const { addr, len, family } = splitCidr(r.dst);
    try {
      await this.exclusive((s) =>
        s.delRoute(
          { family, dstLen: len, table: r.table > 255 ? 0 : r.table, protocol: r.protocol },
          { dst: addr, ...(r.table > 255 ? { table: r.table } : {}) },
          this.opts(),
        ),
      );
    } catch (e) {
      if (!benign(e, ['ESRCH', 'ENOENT'])) throw e;
    }
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
    return attrs;
  }
}
