/**
 * The nftables firewall's bookkeeping with a scripted `nft` (the kernel side is in
 * test/dataplane/firewall.test.ts): one transaction per run, nothing written when the plan and
 * the tables are unchanged, the other family's table deleted, a host without nft has nothing
 * to clean up.
 */
import { NftFirewall, nftRuleCount } from '../../src/dataplane/firewall-nft';
import { renderFirewall } from '../../src/dataplane/netpol';
import type { Runner } from '../../src/util/exec';

const desired = (families: (4 | 6)[]) => ({
  families,
  render: renderFirewall({ pods: [], serviceRanges: ['10.96.0.0/12', 'fd00:96::/112'] }),
  forwardJump: false,
  nftables: true,
});

/** What `nft list table` shows of one family's input: its table block, as written (after the create and delete lines). */
const listingOf = (input: string): string => input.split('\n').slice(2).join('\n');

describe('nftables firewall', () => {
  it('writes once per change, reads back, deletes the table of a family not run', async () => {
    const calls: string[] = [];
    let listing = '';
    const run: Runner = async (cmd, args, opts) => {
      calls.push([cmd, ...args].join(' ') + (opts?.input ? ` <${opts.input.split('\n')[0]}>` : ''));
      if (opts?.input) listing = listingOf(opts.input);
      const code = args[0] === 'list' && args[2] === 'ip6' ? 1 : 0;
      return { code, stdout: args[0] === 'list' ? listing : '', stderr: '' };
    };
    const fw = new NftFirewall(run);
    const first = await fw.reconcile(desired([4]));
    expect(first.written).toBe(true);
    expect(first.lines![0]).toBe('4 table ip kube-router-filter-ipv4 {');
    expect(nftRuleCount(first.lines!.map((l) => l.slice(2)))).toBeGreaterThan(3);
    expect(calls).toEqual([
      'nft -f - <table ip kube-router-filter-ipv4 {}>',
      'nft delete table ip6 kube-router-filter-ipv6',
      'nft list table ip kube-router-filter-ipv4',
    ]);
    calls.length = 0;
    expect((await fw.reconcile(desired([4]))).written).toBe(false);
    expect(calls).toEqual(['nft list table ip kube-router-filter-ipv4']);
    // Someone changed the table: written again.
    listing = 'table ip kube-router-filter-ipv4 {\n}\n';
    expect((await fw.reconcile(desired([4]))).written).toBe(true);
  });

  it('a table changed between its write and its read-back is written again, never taken as the reference', async () => {
    let listing = '';
    let full = '';
    let flushes = 1;
    const run: Runner = async (_cmd, args, opts) => {
      if (opts?.input) listing = full = listingOf(opts.input);
      // Someone flushes the chains right after our write, before we read (once, then N times).
      if (args[0] === 'list' && flushes-- > 0)
        listing = listing.replace(/^(\s+chain KUBE-ROUTER-TS-NP-\S+ \{\n)(?:\s+[^}\s].*\n)+/gm, '$1');
      return { code: args[0] === 'list' && args[2] === 'ip6' ? 1 : 0, stdout: args[0] === 'list' ? listing : '', stderr: '' };
    };
    const fw = new NftFirewall(run);
    const r = await fw.reconcile(desired([4]));
    // The second write was read back whole: that is the reference.
    expect(r.lines).toEqual(
      full
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => `4 ${l}`),
    );
    // Flushed after every write: refused (the task tries again later), nothing recorded.
    flushes = 3;
    const other = new NftFirewall(run);
    await expect(other.reconcile(desired([4]))).rejects.toThrow(/changed while they were written .* 3 times/);
    flushes = 0;
    expect((await other.reconcile(desired([4]))).written).toBe(true);
  });

  it('cleanup on a host without nft finds nothing; other failures are not hidden', async () => {
    const missing: Runner = () => Promise.reject(new Error('nft: command not found'));
    expect(await new NftFirewall(missing).cleanup([4, 6])).toEqual([]);
    const broken: Runner = () => Promise.reject(new Error('nft: killed after 30 s (timeout)'));
    await expect(new NftFirewall(broken).cleanup([4, 6])).rejects.toThrow(/timeout/);
  });
});
