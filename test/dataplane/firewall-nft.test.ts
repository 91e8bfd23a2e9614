/**
 * The nftables firewall's bookkeeping with a scripted `nft` (the kernel side is in
 * test/dataplane/firewall.test.ts): one transaction per run, nothing written when the plan and
 * the tables are unchanged, the other family's table deleted, a host without nft has nothing
 * to clean up.
 */
import { NftFirewall } from '../../src/dataplane/firewall-nft';
import { renderFirewall } from '../../src/dataplane/netpol';
import type { Runner } from '../../src/util/exec';

const desired = (families: (4 | 6)[]) => ({
  families,
  render: renderFirewall({ pods: [], serviceRanges: ['10.96.0.0/12', 'fd00:96::/112'] }),
  forwardJump: false,
  nftables: true,
});

describe('nftables firewall', () => {
  it('writes once per change, reads back, deletes the table of a family not run', async () => {
    const calls: string[] = [];
    let listing = 'table ip kube-router-filter-ipv4 {\n\tchain input {\n\t}\n}\n';
    const run: Runner = async (cmd, args, opts) => {
      calls.push([cmd, ...args].join(' ') + (opts?.input ? ` <${opts.input.split('\n')[0]}>` : ''));
      const code = args[0] === 'list' && args[2] === 'ip6' ? 1 : 0;
      return { code, stdout: args[0] === 'list' ? listing : '', stderr: '' };
    };
    const fw = new NftFirewall(run);
    const first = await fw.reconcile(desired([4]));
    expect(first.written).toBe(true);
    expect(first.lines).toEqual(['4 table ip kube-router-filter-ipv4 {', '4 chain input {', '4 }', '4 }']);
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

  it('cleanup on a host without nft finds nothing; other failures are not hidden', async () => {
    const missing: Runner = () => Promise.reject(new Error('nft: command not found'));
    expect(await new NftFirewall(missing).cleanup([4, 6])).toEqual([]);
    const broken: Runner = () => Promise.reject(new Error('nft: killed after 30 s (timeout)'));
    await expect(new NftFirewall(broken).cleanup([4, 6])).rejects.toThrow(/timeout/);
  });
});
