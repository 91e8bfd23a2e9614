/**
 * The load-balancer IP allocator (--run-loadbalancer), as kube-router's lballoc: a Service of
 * type LoadBalancer of our class (spec.loadBalancerClass "kube-router", or none / "default"
 * with --loadbalancer-default-class) whose status.loadBalancer.ingress lacks an address of a
 * family it wants (spec.ipFamilies) gets the next free one from --loadbalancer-ip-range. An
 * address is taken when any Service holds it (externalIPs or ingress), so a deleted Service's
 * address is free again; the cursor walks on from the last address given, so it is not handed
 * out again at once. Pure apart from the cursor; the loop (src/agent/lb-loop.ts) writes status.
 */
import { ipFamily, isIp, parseIp, parsePrefix, formatIp, canonicalIp, type IpFamily } from '../net';
import type { ServiceObject } from './services';

export const LB_CLASS = 'kube-router';

export interface LbServiceObject extends ServiceObject {
  spec?: ServiceObject['spec'] & { loadBalancerClass?: string; ipFamilies?: string[]; ipFamilyPolicy?: string };
}

export interface LbAllocation {
  namespace: string;
  name: string;
  /** Addresses to add to status.loadBalancer.ingress. */
  ips: string[];
}

export interface LbPlan {
  allocations: LbAllocation[];
  /** Services that need an address and cannot have one, with why. */
  problems: { service: string; problem: string }[];
}

interface Range {
  base: bigint;
  size: bigint;
}

const toBig = (b: Buffer): bigint => BigInt(`0x${b.toString('hex') || '0'}`);
const fromBig = (v: bigint, family: IpFamily): string => {
  const hex = v.toString(16).padStart(family === 4 ? 8 : 32, '0');
  return formatIp(Buffer.from(hex, 'hex'));
};

/** Addresses of one family, in range order, with the position of the last one given. */
class Pool {
  private range = 0;
  private offset = 0n;

  constructor(
    readonly family: IpFamily,
    private readonly ranges: readonly Range[],
  ) {}

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  contains(ip: string): boolean {
    const v = toBig(parseIp(ip));
    return this.ranges.some((r) => v >= r.base && v < r.base + r.size);
  }

  /** The first address from the cursor on that `taken` lacks (the cursor stays on it), or undefined. */
  next(taken: ReadonlySet<string>): string | undefined {
    if (this.empty) return undefined;
    const total = this.ranges.reduce((n, r) => n + r.size, 0n);
    // Among taken.size + 1 distinct addresses one is free: no need to walk a /64.
    const steps = total < BigInt(taken.size + 1) ? total : BigInt(taken.size + 1);
    for (let i = 0n; i < steps; i++) {
      const ip = fromBig(this.ranges[this.range]!.base + this.offset, this.family);
      if (!taken.has(ip)) return ip;
      this.advance();
    }
    return undefined;
  }

  private advance(): void {
    this.offset++;
    if (this.offset >= this.ranges[this.range]!.size) {
      this.offset = 0n;
      this.range = (this.range + 1) % this.ranges.length;
    }
  }
}

export class LbAllocator {
  private readonly pools: Record<IpFamily, Pool>;

  constructor(
    ranges: readonly string[],
    /** --loadbalancer-default-class: also Services without a class (or "default"). */
    private readonly defaultClass: boolean,
  ) {
    const of = (f: IpFamily): Range[] =>
      ranges
        .map((r) => parsePrefix(r))
        .filter((p) => p.family === f)
        .map((p) => ({ base: toBig(p.bytes), size: 1n << BigInt((f === 4 ? 32 : 128) - p.length) }));
    this.pools = { 4: new Pool(4, of(4)), 6: new Pool(6, of(6)) };
  }

  private ours(svc: LbServiceObject): boolean {
    const cls = svc.spec?.loadBalancerClass ?? '';
    return cls === LB_CLASS || (this.defaultClass && (cls === '' || cls === 'default'));
  }

  /** The families a Service wants: spec.ipFamilies (set by the API server), else those of its cluster IPs. */
  private static wanted(svc: LbServiceObject): Set<IpFamily> {
    const spec = svc.spec ?? {};
    const fromSpec = (spec.ipFamilies ?? []).flatMap((f) => (f === 'IPv4' ? [4 as const] : f === 'IPv6' ? [6 as const] : []));
    if (fromSpec.length) return new Set(fromSpec);
    return new Set([spec.clusterIP, ...(spec.clusterIPs ?? [])].filter((ip): ip is string => !!ip && isIp(ip)).map(ipFamily));
  }

  private static held(svc: LbServiceObject): string[] {
    const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
    return [...(svc.spec?.externalIPs ?? []), ...ingress].filter((ip): ip is string => !!ip && isIp(ip)).map(canonicalIp);
  }

  plan(services: readonly LbServiceObject[]): LbPlan {
    const taken = new Set<string>();
    for (const s of services) for (const ip of LbAllocator.held(s)) if (this.pools[ipFamily(ip)].contains(ip)) taken.add(ip);
    const out: LbPlan = { allocations: [], problems: [] };
    for (const svc of services) {
      if (svc.spec?.type !== 'LoadBalancer' || !this.ours(svc)) continue;
      const id = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
      const want = LbAllocator.wanted(svc);
      const have = new Set((svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip && isIp(i.ip) ? [ipFamily(i.ip)] : [])));
      const missing = [...want].filter((f) => !have.has(f)).sort();
      if (!missing.length) continue;
      const dual = svc.spec?.ipFamilyPolicy === 'RequireDualStack';
      const noRange = missing.filter((f) => this.pools[f].empty);
      if (dual && noRange.length) {
        out.problems.push({
          service: id,
          problem: `IPv${noRange[0]} address required (RequireDualStack), but no IPv${noRange[0]} --loadbalancer-ip-range`,
        });
        continue;
      }
      const ips: string[] = [];
      const why: string[] = [];
      for (const f of missing) {
        const ip = this.pools[f].next(taken);
        if (ip) ips.push(ip);
        else why.push(this.pools[f].empty ? `no IPv${f} --loadbalancer-ip-range` : `no IPv${f} address left in --loadbalancer-ip-range`);
      }
      if (why.length) out.problems.push({ service: id, problem: why.join('; ') });
      if (!ips.length || (dual && why.length)) continue;
      for (const ip of ips) taken.add(ip);
      out.allocations.push({ namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', ips });
    }
    return out;
  }
}
