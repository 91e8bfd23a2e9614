/**
 * The iptables firewall's read-back with a scripted iptables (the kernel side is in
 * firewall.test.ts): chains flushed by someone between the agent's write and its read-back are
 * not taken as what the agent wrote; it writes again, and gives up (for the task's retry) when
 * that keeps happening.
 */
import { Firewall } from '../../src/dataplane/firewall';
import { renderFirewall } from '../../src/dataplane/netpol';
import type { IpSets } from '../../src/dataplane/ipsets';
import type { Runner } from '../../src/util/exec';

const desired = {
  families: [4 as const],
  render: renderFirewall({ pods: [{ namespace: 'x', name: 'a', ips: ['10.244.1.5'], ingress: [] }], serviceRanges: ['10.96.0.0/12'] }),
  forwardJump: false,
};

/** iptables as far as the firewall uses it: restore adds its rules, save lists them, a flush empties our chains. */
function scripted() {
  let rules: string[] = [];
  const state = {
    /** Flushes to make right after the next restores (one per restore). */
    flushAfterRestore: 0,
    run: (async (cmd, _args, opts) => {
      if (cmd === 'iptables-restore') {
        // A chain declared in a --noflush restore is flushed, then its rules appended.
        const input = opts!.input!.split('\n');
        const declared = input.filter((l) => l.startsWith(':'));
        const chains = new Set(declared.map((l) => l.slice(1).split(' ')[0]));
        const kept = rules.filter((l) => !declared.includes(l) && !chains.has(l.split(' ')[1]));
        rules = [...declared, ...kept, ...input.filter((l) => l.startsWith('-A '))];
        if (state.flushAfterRestore > 0) {
          state.flushAfterRestore--;
          rules = rules.filter((l) => !l.startsWith('-A KUBE-ROUTER-TS-NP-'));
        }
      }
      const stdout = cmd === 'iptables-save' ? ['*filter', ...rules, 'COMMIT', ''].join('\n') : '';
      return { code: 0, stdout, stderr: '' };
    }) as Runner,
  };
  return state;
}

const ipsets = { exists: async () => true, reconcile: async () => [], destroy: async () => undefined } as unknown as IpSets;

describe('iptables firewall read-back', () => {
  it('a chain flushed between the write and the read-back is written again, not taken as the reference', async () => {
    const ipt = scripted();
    ipt.flushAfterRestore = 1;
    const fw = new Firewall(ipt.run, ipsets);
    const r = await fw.reconcile(desired);
    const ours = (r.lines ?? []).filter((l) => l.startsWith('4 -A KUBE-ROUTER-TS-NP-'));
    expect(ours).toHaveLength(desired.render.families[4].rules.length);
    // Nothing changed since: nothing written.
    expect((await fw.reconcile(desired)).written).toBe(false);
  });

  it('flushed after every write: refused, nothing recorded, written on the next run', async () => {
    const ipt = scripted();
    ipt.flushAfterRestore = 3;
    const fw = new Firewall(ipt.run, ipsets);
    await expect(fw.reconcile(desired)).rejects.toThrow(/changed while they were written .* 3 times/);
    expect((await fw.reconcile(desired)).written).toBe(true);
    expect((await fw.reconcile(desired)).written).toBe(false);
  });
});
