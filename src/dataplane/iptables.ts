/**
 * iptables rules through iptables-restore --noflush, in chains of our own: only chains the
 * input declares are flushed, so our chains are rewritten atomically and nobody else's rules are
 * touched. One jump into each chain is kept in place with -C / -I. Pod egress is the
 * MASQUERADE rule of seed 001, verbatim; FORWARD accepts pod traffic where a DROP policy
 * would stop it.
 */
import { run, type Runner } from '../util/exec';
import { addressBits, inPrefixes, ipFamily } from '../../net';
import { NODE_IPS, POD_SUBNETS, v6Name } from './ipsets';
import { NP_FORWARD } from './netpol';

export const NAT_CHAIN = 'KUBE-ROUTER-TS-POSTROUTING';
export const FORWARD_CHAIN = 'KUBE-ROUTER-TS-FORWARD';
/** The service proxy's SNAT rules, a chain of its own so the two loops never rewrite each other's. */
export const SERVICES_CHAIN = 'KUBE-ROUTER-TS-SERVICES';
/** --ipvs-permit-all: what may reach a service IP on this node (filter INPUT). */
export const SERVICES_INPUT_CHAIN = 'KUBE-ROUTER-TS-SVC-INPUT';
/** DSR (mangle PREROUTING): marks packets for DSR addresses for IPVS, clamps the MSS of their endpoints' SYN-ACKs. */
export const SERVICES_DSR_CHAIN = 'KUBE-ROUTER-TS-SVC-DSR';
/** Service IPs on kube-dummy-if, and "IP,proto:port" of their virtual servers (kube-router's svip and svip-prt). */
export const SVIP = 'kube-router-ts-svip';
export const SVIP_PORTS = 'kube-router-ts-svip-prt';
const COMMENT = 'kube-router-ts';
/** Seconds to wait for the xtables lock (legacy backend) before giving up: never unbounded. */
export const WAIT = '5';

export interface IptablesSettings {
  podEgress: boolean;
  /** The network policy firewall runs: pod traffic is judged by it before FORWARD accepts it. */
  firewall?: boolean;
}

export type Family = 4 | 6;
export const iptablesTools = (f: Family) =>
  f === 4
    ? { save: 'iptables-save', restore: 'iptables-restore', cmd: 'iptables' }
    : { save: 'ip6tables-save', restore: 'ip6tables-restore', cmd: 'ip6tables' };
const set = (name: string, f: Family): string => (f === 4 ? name : v6Name(name));

export function podEgressRule(f: Family): string {
  return `-m set --match-set ${set(POD_SUBNETS, f)} src -m set ! --match-set ${set(POD_SUBNETS, f)} dst -m set ! --match-set ${set(NODE_IPS, f)} dst -j MASQUERADE --random-fully`;
}

export function renderRules(f: Family, s: IptablesSettings): string {
  const lines = ['*nat', `:${NAT_CHAIN} - [0:0]`];
  if (s.podEgress) lines.push(`-A ${NAT_CHAIN} ${podEgressRule(f)}`);
  lines.push('COMMIT', '*filter', `:${FORWARD_CHAIN} - [0:0]`);
  if (s.firewall) lines.push(`-A ${FORWARD_CHAIN} -j ${NP_FORWARD}`);
  lines.push(`-A ${FORWARD_CHAIN} -m set --match-set ${set(POD_SUBNETS, f)} src -j ACCEPT`);
  lines.push(`-A ${FORWARD_CHAIN} -m set --match-set ${set(POD_SUBNETS, f)} dst -j ACCEPT`);
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/**
 * --ipvs-permit-all, as kube-router's chain: traffic to a service IP is accepted (whatever later
 * INPUT rules say) for ICMP and for the ports of its virtual servers; any other port of a service
 * IP is refused, so a host daemon listening on every address is not reachable through a VIP.
 */
export function permitAllRules(f: Family): string[] {
  const [icmp, reject] = f === 4 ? ['icmp', 'icmp-port-unreachable'] : ['ipv6-icmp', 'icmp6-port-unreachable'];
  return [
    // Replies to the node's own clients of a service reach INPUT still addressed to the VIP and
    // its client port (IPVS undoes the NAT later in LOCAL_IN): connections already let in pass.
    `-m set --match-set ${set(SVIP, f)} dst -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "${COMMENT} established to service IPs" -j ACCEPT`,
    `-p ${icmp} -m set --match-set ${set(SVIP, f)} dst -m comment --comment "${COMMENT} ICMP to service IPs" -j ACCEPT`,
    `-m set --match-set ${set(SVIP_PORTS, f)} dst,dst -m comment --comment "${COMMENT} service ports" -j ACCEPT`,
    `-m set --match-set ${set(SVIP, f)} dst -m comment --comment "${COMMENT} other ports of service IPs" -j REJECT --reject-with ${reject}`,
  ];
}

/**
 * SNAT of IPVS-forwarded connections to the node IP (seed 001's rule), so replies come back
 * through this node: all of them with --masquerade-all, else those neither from nor to this
 * node's pods (a client outside reaching a node port whose pod is elsewhere, or the host itself).
 */
export function ipvsSnatRules(s: { nodeIp: string; podCidrs: readonly string[]; masqueradeAll: boolean }): string[] {
  const tail = `-m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ -m comment --comment "${COMMENT} service SNAT" -j SNAT --to-source ${s.nodeIp} --random-fully`;
  if (s.masqueradeAll || s.podCidrs.length === 0) return [tail];
  return [`${s.podCidrs.map((c) => `! -s ${c} ! -d ${c}`).join(' ')} ${tail}`];
}

/**
 * Hairpin: a pod reaching itself through a virtual server would get the reply from itself,
 * straight back without the host reversing the NAT; SNAT to the virtual address makes the reply
 * go through the host (kube-router's hairpin rules). One rule per local endpoint.
 */
export function hairpinRules(
  servers: readonly { protocol: string; address: string; port: number; realServers: readonly { address: string }[] }[],
  localPodCidrs: readonly string[],
): string[] {
  const rules = new Set<string>();
  for (const v of servers) {
    const host = addressBits(ipFamily(v.address));
    for (const r of v.realServers.filter((x) => ipFamily(x.address) === ipFamily(v.address) && inPrefixes(x.address, localPodCidrs))) {
      rules.add(
        `-s ${r.address}/${host} -d ${r.address}/${host} -p ${v.protocol} -m ipvs --vaddr ${v.address}/${host} --vport ${v.port}` +
          ` -m comment --comment "${COMMENT} hairpin" -j SNAT --to-source ${v.address}`,
      );
    }
  }
  return [...rules];
}

/**
 * DSR, as kube-router's mangle rules: packets for each DSR address, protocol and port get the
 * virtual server's firewall mark (table 78 then delivers them locally to IPVS without the
 * address being local). The endpoints' SYN-ACKs, leaving pods with the address as source,
 * announce an MSS that fits the IPIP tunnel the requests came through (clients cannot learn
 * its MTU: the replies do not take it).
 */
export function dsrMangleRules(
  servers: readonly { protocol: string; address: string; port: number; fwmark?: number }[],
  uplinkMtu: number,
  bridge: string,
): string[] {
  const rules: string[] = [];
  for (const v of servers) {
    if (!v.fwmark) continue;
    const f = ipFamily(v.address);
    const host = `${v.address}/${addressBits(f)}`;
    const proto = `-p ${v.protocol} -m ${v.protocol}`;
    rules.push(
      `-d ${host} ${proto} --dport ${v.port} -m comment --comment "${COMMENT} DSR" -j MARK --set-xmark 0x${v.fwmark.toString(16)}/0xffffffff`,
    );
    // Two IP headers (the tunnel's and the packet's) and TCP's.
    const mss = uplinkMtu - (f === 4 ? 2 * 20 : 2 * 40) - 20;
    if (v.protocol === 'tcp')
      rules.push(
        `-s ${host} -i ${bridge} ${proto} --sport ${v.port} --tcp-flags SYN,RST SYN -m comment --comment "${COMMENT} DSR MSS" -j TCPMSS --set-mss ${mss}`,
      );
  }
  return rules;
}

export interface Jump {
  table: string;
  chain: string;
  target: string;
}
const JUMPS: Jump[] = [
  { table: 'nat', chain: 'POSTROUTING', target: NAT_CHAIN },
  { table: 'filter', chain: 'FORWARD', target: FORWARD_CHAIN },
];
const SERVICE_JUMP: Jump = { table: 'nat', chain: 'POSTROUTING', target: SERVICES_CHAIN };
const SERVICES_INPUT_JUMP: Jump = { table: 'filter', chain: 'INPUT', target: SERVICES_INPUT_CHAIN };
const SERVICES_DSR_JUMP: Jump = { table: 'mangle', chain: 'PREROUTING', target: SERVICES_DSR_CHAIN };

const jumpRule = (j: Jump): string[] => ['-m', 'comment', '--comment', COMMENT, '-j', j.target];

export async function ensureJump(exec: Runner, f: Family, j: Jump): Promise<void> {
  const t = iptablesTools(f);
  const exists = await exec(t.cmd, ['-w', WAIT, '-t', j.table, '-C', j.chain, ...jumpRule(j)], { allowFail: true });
  if (exists.code !== 0) await exec(t.cmd, ['-w', WAIT, '-t', j.table, '-I', j.chain, '1', ...jumpRule(j)]);
}

/** Deletes a jump of ours, every copy of it (cleanup; someone may have added it twice). */
export async function deleteJump(exec: Runner, f: Family, j: Jump): Promise<void> {
  const t = iptablesTools(f);
  while ((await exec(t.cmd, ['-w', WAIT, '-t', j.table, '-D', j.chain, ...jumpRule(j)], { allowFail: true })).code === 0);
}

/** Lines of the service proxy's chains (and the jumps into them): the services loop's to repair. */
export const isServicesLine = (line: string): boolean =>
  line.includes(SERVICES_CHAIN) || line.includes(SERVICES_INPUT_CHAIN) || line.includes(SERVICES_DSR_CHAIN);

/** Lines of `iptables-save` that are ours: our chains, their rules, the jumps into them. */
export const isOurLine = (line: string): boolean => line.includes('KUBE-ROUTER-TS-');

/** Our lines of one family's `iptables-save` output, family-prefixed, counters dropped (unsorted). */
export const ourLines = (f: Family, save: string): string[] =>
  save
    .split('\n')
    .filter(isOurLine)
    .map((l) => `${f} ${l.replace(/\[\d+:\d+\]$/, '')}`);

/** The command printing a family's whole ruleset. */
export const saveCommand = (f: Family): string[] => [iptablesTools(f).save];

/** The jump into one of our chains, as `iptables-save` prints it. */
const jumpLine = (j: Jump): string => `-A ${j.chain} -m comment --comment ${COMMENT} -j ${j.target}`;

/**
 * What a run just wrote, read back: our lines (family-prefixed, sorted) of the chains `want`
 * names, or undefined when they are not what was written (a jump missing, a rule count off):
 * someone changed them in between, so this cannot serve as the reference for drift checks.
 */
function verified(
  all: readonly string[],
  want: readonly { family: Family; chain: string; rules: number; jump: Jump }[],
): string[] | undefined {
  const chains = new Set(want.map((w) => w.chain));
  const mine = all.filter((l) => [...chains].some((c) => l.includes(c)));
  for (const w of want) {
    const prefix = `${w.family} -A ${w.chain} `;
    if (!mine.includes(`${w.family} ${jumpLine(w.jump)}`) || mine.filter((l) => l.startsWith(prefix)).length !== w.rules) return undefined;
  }
  return mine;
}

type Want = Parameters<typeof verified>[1];

export class Iptables {
  /** Per group of chains (setup, services): what was last written and how it read back. */
  private readonly last = new Map<string, { input: string; lines: string[] }>();

  constructor(private readonly exec: Runner = run) {}

  /**
   * Our lines as the kernel has them now, per family (one `iptables-save` each): compared with
   * what they were right after we wrote them, a difference is someone else's change.
   */
  async ours(families: readonly Family[]): Promise<string[]> {
    const out: string[] = [];
    for (const f of families) out.push(...ourLines(f, (await this.exec(iptablesTools(f).save, [], { allowFail: true })).stdout));
    return out.sort();
  }

  /**
   * Writes a group of chains unless the same input was written before and reads back unchanged
   * (one `iptables-save` per family instead of a restore, checks and a read-back). Returns the
   * lines as read back after writing: the reference for drift checks, or undefined if they were
   * changed before they could be read (the next check then finds a difference).
   */
  private async apply(
    group: string,
    input: string,
    families: readonly Family[],
    want: Want,
    write: () => Promise<void>,
  ): Promise<string[] | undefined> {
    const prev = this.last.get(group);
    const chains = new Set(want.map((w) => w.chain));
    const mine = (all: string[]): string[] => all.filter((l) => [...chains].some((c) => l.includes(c)));
    if (prev && prev.input === input) {
      const now = mine(await this.ours(families));
      if (now.length === prev.lines.length && now.every((l, i) => l === prev.lines[i])) return prev.lines;
    }
    await write();
    const lines = verified(await this.ours(families), want);
    if (lines) this.last.set(group, { input, lines });
    else this.last.delete(group);
    return lines;
  }

  /** Writes our chains and makes sure the jumps into them exist, for each family in use (see apply). */
  reconcile(families: readonly Family[], s: IptablesSettings): Promise<string[] | undefined> {
    const want: Want = families.flatMap((f) => [
      { family: f, chain: NAT_CHAIN, rules: s.podEgress ? 1 : 0, jump: JUMPS[0]! },
      { family: f, chain: FORWARD_CHAIN, rules: s.firewall ? 3 : 2, jump: JUMPS[1]! },
    ]);
    const inputs = families.map((f) => renderRules(f, s));
    return this.apply('setup', inputs.join('\n'), families, want, async () => {
      for (const [i, f] of families.entries()) {
        // The firewall's chain may not exist yet; made empty here, filled by the firewall loop.
        if (s.firewall) await this.exec(iptablesTools(f).cmd, ['-w', WAIT, '-t', 'filter', '-N', NP_FORWARD], { allowFail: true });
        await this.exec(iptablesTools(f).restore, ['--noflush', '--wait', WAIT], { input: inputs[i]! });
        for (const j of JUMPS) await ensureJump(this.exec, f, j);
      }
    });
  }

  /**
   * Writes the service proxy's chains and the jumps into them (see apply): the SNAT rules (`nat`
   * per family), the --ipvs-permit-all rules (`input` per family; none: an empty chain) and the
   * DSR marks (`mangle` per family; likewise).
   */
  reconcileServices(
    nat: ReadonlyMap<Family, readonly string[]>,
    input: ReadonlyMap<Family, readonly string[]> = new Map(),
    mangle: ReadonlyMap<Family, readonly string[]> = new Map(),
  ): Promise<string[] | undefined> {
    const families = [...nat.keys()];
    const inputRules = (f: Family): readonly string[] => input.get(f) ?? [];
    const mangleRules = (f: Family): readonly string[] => mangle.get(f) ?? [];
    const want: Want = families.flatMap((f) => [
      { family: f, chain: SERVICES_CHAIN, rules: nat.get(f)!.length, jump: SERVICE_JUMP },
      { family: f, chain: SERVICES_INPUT_CHAIN, rules: inputRules(f).length, jump: SERVICES_INPUT_JUMP },
      { family: f, chain: SERVICES_DSR_CHAIN, rules: mangleRules(f).length, jump: SERVICES_DSR_JUMP },
    ]);
    const inputs = families.map((f) =>
      [
        '*nat',
        `:${SERVICES_CHAIN} - [0:0]`,
        ...nat.get(f)!.map((l) => `-A ${SERVICES_CHAIN} ${l}`),
        'COMMIT',
        '*filter',
        `:${SERVICES_INPUT_CHAIN} - [0:0]`,
        ...inputRules(f).map((l) => `-A ${SERVICES_INPUT_CHAIN} ${l}`),
        'COMMIT',
        '*mangle',
        `:${SERVICES_DSR_CHAIN} - [0:0]`,
        ...mangleRules(f).map((l) => `-A ${SERVICES_DSR_CHAIN} ${l}`),
        'COMMIT',
        '',
      ].join('\n'),
    );
    return this.apply('services', inputs.join('\n'), families, want, async () => {
      for (const [i, f] of families.entries()) {
        await this.exec(iptablesTools(f).restore, ['--noflush', '--wait', WAIT], { input: inputs[i]! });
        await ensureJump(this.exec, f, SERVICE_JUMP);
        await ensureJump(this.exec, f, SERVICES_INPUT_JUMP);
        await ensureJump(this.exec, f, SERVICES_DSR_JUMP);
      }
    });
  }

  /** Removes our jumps and chains; returns what existed ("nat/KUBE-ROUTER-TS-POSTROUTING (IPv6)"). */
  async cleanup(families: readonly Family[]): Promise<string[]> {
    const removed: string[] = [];
    for (const f of families) {
      const t = iptablesTools(f);
      for (const j of [...JUMPS, SERVICE_JUMP, SERVICES_INPUT_JUMP, SERVICES_DSR_JUMP]) {
        await deleteJump(this.exec, f, j);
        await this.exec(t.cmd, ['-w', WAIT, '-t', j.table, '-F', j.target], { allowFail: true });
        const deleted = await this.exec(t.cmd, ['-w', WAIT, '-t', j.table, '-X', j.target], { allowFail: true });
        if (deleted.code === 0) removed.push(`${j.table}/${j.target}${f === 6 ? ' (IPv6)' : ''}`);
      }
    }
    return removed;
  }
}
