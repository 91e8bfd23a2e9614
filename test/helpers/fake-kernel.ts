/**
 * An in-memory twin of what the data path drives through commands and /proc/sys, for unit
 * tests of DataPlane without root: ipsets (save, restore, destroy), iptables per family (save,
 * restore --noflush, -C/-I/-D/-F/-X), sysctls; and a log of every write. The real kernel is
 * tested in namespaces (test/dataplane/dataplane.test.ts, the lab); this twin checks the
 * orchestration: what is written, in which order, and that a second run writes nothing.
 */
import type { Runner } from '../../src/util/exec';
import type { Sysctls } from '../../src/dataplane/sysctl';

interface FakeSet {
  create: string;
  members: Set<string>;
}

export class FakeKernel {
  readonly sets = new Map<string, FakeSet>();
  /** Per family, per "table chain": the rules (iptables-save's text after "-A CHAIN "). */
  readonly chains = { 4: new Map<string, string[]>(), 6: new Map<string, string[]>() };
  readonly sysctlValues = new Map<string, string>([
    ['net.ipv4.ip_forward', '0'],
    ['net.ipv6.conf.all.forwarding', '0'],
  ]);
  /** Every command that changes state, in order. */
  readonly writes: string[] = [];

  readonly sysctls: Sysctls = {
    read: (key) => this.sysctlValues.get(key),
    write: (key, value) => {
      this.sysctlValues.set(key, value);
      this.writes.push(`sysctl ${key}=${value}`);
    },
  };

  readonly run: Runner = async (cmd, args, opts = {}) => {
    const ok = (stdout = '') => ({ stdout, stderr: '', code: 0 });
    const fail = (stderr: string) => {
      if (opts.allowFail) return { stdout: '', stderr, code: 1 };
      throw new Error(`${cmd} ${args.join(' ')}: ${stderr}`);
    };
    const family = cmd.startsWith('ip6') ? 6 : 4;
    if (cmd === 'ipset' && args[0] === 'save') return ok(this.ipsetSave());
    if (cmd === 'ipset' && args[0] === 'restore') return (this.ipsetRestore(opts.input ?? ''), ok());
    if (cmd === 'ipset' && args[0] === 'list' && args[1] === '-n')
      return this.sets.has(args[2]!) ? ok(`${args[2]}\n`) : fail('does not exist');
    if (cmd === 'ipset' && args[0] === 'destroy') return this.sets.delete(args[1]!) ? ok() : fail('no such set');
    if (cmd.endsWith('tables-save')) return ok(this.iptablesSave(family));
    if (cmd.endsWith('tables-restore')) return (this.iptablesRestore(family, opts.input ?? ''), ok());
    if (cmd === 'iptables' || cmd === 'ip6tables') return this.iptables(family, args) ? ok() : fail('no such rule');
    return ok();
  };

  private ipsetSave(): string {
    return [...this.sets].flatMap(([name, s]) => [s.create, ...[...s.members].map((m) => `add ${name} ${m}`)]).join('\n');
  }

  private ipsetRestore(script: string): void {
    this.writes.push(`ipset restore (${script.trim().split('\n').length} lines)`);
    for (const line of script.trim().split('\n')) {
      const [verb, name, ...rest] = line.split(' ');
      if (verb === 'create' && !this.sets.has(name!))
        this.sets.set(name!, { create: `create ${name} ${rest.slice(0, 3).join(' ')}`, members: new Set() });
      else if (verb === 'flush') this.sets.get(name!)!.members.clear();
      else if (verb === 'add') this.sets.get(name!)!.members.add(rest[0]!);
      else if (verb === 'destroy') this.sets.delete(name!);
      else if (verb === 'swap') {
        const a = this.sets.get(name!)!;
        const b = this.sets.get(rest[0]!)!;
        [a.members, b.members] = [b.members, a.members];
      }
    }
  }

  private iptablesSave(family: 4 | 6): string {
    const out: string[] = [];
    for (const table of ['nat', 'filter']) {
      out.push(`*${table}`);
      for (const [key, rules] of this.chains[family]) {
        const [t, chain] = key.split(' ');
        if (t === table) out.push(`:${chain} - [0:0]`, ...rules.map((r) => `-A ${chain} ${r}`));
      }
      out.push('COMMIT');
    }
    return `${out.join('\n')}\n`;
  }

  private iptablesRestore(family: 4 | 6, input: string): void {
    this.writes.push(`${family === 4 ? 'iptables' : 'ip6tables'}-restore`);
    let table = '';
    for (const line of input.split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      else if (line.startsWith(':'))
        this.chains[family].set(`${table} ${line.slice(1).split(' ')[0]}`, []); // --noflush still flushes declared chains
      else if (line.startsWith('-A ')) {
        const [, chain, ...rule] = line.split(' ');
        this.chain(family, table, chain!).push(rule.join(' '));
      }
    }
  }

  private chain(family: 4 | 6, table: string, chain: string): string[] {
    const key = `${table} ${chain}`;
    if (!this.chains[family].has(key)) this.chains[family].set(key, []);
    return this.chains[family].get(key)!;
  }

  /** iptables -w N -t TABLE -C|-I|-D|-F|-X CHAIN [1] RULE...: false when a check or delete finds nothing. */
  private iptables(family: 4 | 6, args: readonly string[]): boolean {
    const rest = args.slice(args.indexOf('-t') + 1);
    const [table, op, chainName, ...ruleArgs] = rest as [string, string, string, ...string[]];
    const rules = this.chain(family, table, chainName);
    const rule = (op === '-I' ? ruleArgs.slice(1) : ruleArgs).join(' ');
    if (op === '-C') return rules.includes(rule);
    this.writes.push(`${family === 4 ? 'iptables' : 'ip6tables'} ${op} ${chainName}`);
    if (op === '-I') return (rules.unshift(rule), true);
    if (op === '-D') {
      const i = rules.indexOf(rule);
      if (i >= 0) rules.splice(i, 1);
      return i >= 0;
    }
    if (op === '-F') return (rules.splice(0), true);
    if (op === '-X') return this.chains[family].delete(`${table} ${chainName}`);
    return true;
  }
}
