/**
 * The VM harness: Debian's kernel under qemu (software emulation), the host's tree as its root,
 * a shared scratch directory, jobs with their output and exit codes. And what the host kernel
 * lacks works inside: ipip, fou, dummy, IPVS, plus conntrack NAT with ipsets.
 */
import fs from 'node:fs';
import path from 'node:path';
import { kernelVersion } from '../../lab/vm/kernel';
import { vmGroup } from './group';

describe('VM harness', () => {
  const g = vmGroup('harness');

  it('runs commands with their output and exit code, several at once', async () => {
    const vm = g.vm();
    const r = await vm.run('uname -r; echo to-stderr >&2; exit 3', { allowFail: true });
    expect(r).toEqual({ code: 3, stdout: `${kernelVersion()}\n`, stderr: 'to-stderr\n' });
    await expect(vm.run('false')).rejects.toThrow(/in the VM, exit 1/);
    const t = Date.now();
    const [slow, fast] = await Promise.all([vm.run('sleep 3; echo slow'), vm.run('echo fast')]);
    expect([slow.stdout, fast.stdout]).toEqual(['slow\n', 'fast\n']);
    expect(Date.now() - t).toBeLessThan(60000);
  });

  it("sees the host's tree read-only through an overlay, and shares the scratch directory both ways", async () => {
    const vm = g.vm();
    const r = await vm.run(
      `node -e 'process.stdout.write(process.version)'; echo x > /etc/krt-vm-probe; cat /etc/krt-vm-probe; echo from-vm > ${vm.scratch}/probe`,
    );
    expect(r.stdout).toBe(`${process.version}x\n`);
    expect(fs.existsSync('/etc/krt-vm-probe')).toBe(false);
    expect(fs.readFileSync(path.join(vm.scratch, 'probe'), 'utf8')).toBe('from-vm\n');
  });

  it('has what the host kernel lacks: ipip, fou, dummy, IPVS; and NAT with ipsets', async () => {
    const vm = g.vm();
    const r = await vm.run(`set -e
ip netns add t
ip -n t link set lo up
ip -n t link add tun-10002 type ipip local 10.0.0.1 remote 10.0.0.2
ip -n t link add d0 type dummy
modprobe fou
ip netns exec t ip fou add port 5555 gue
ip -n t link add tun-fou type ipip local 10.0.0.1 remote 10.0.0.3 encap gue encap-sport auto encap-dport 5555
ip -n t -d link show tun-10002 | grep -o 'ipip any remote 10.0.0.2 local 10.0.0.1'
ip -n t -d link show tun-fou | grep -o 'encap gue encap-sport auto encap-dport 5555'
ip -n t -br link show d0 | awk '{print $1}'
modprobe ip_vs
test -e /proc/net/ip_vs && echo ip_vs
ip netns exec t ipset create s hash:net
ip netns exec t iptables -t nat -A POSTROUTING -m set --match-set s src -j MASQUERADE
ip netns exec t iptables-save -t nat | grep -o 'match-set s src -j MASQUERADE'
ip netns del t`);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'ipip any remote 10.0.0.2 local 10.0.0.1',
      'encap gue encap-sport auto encap-dport 5555',
      'd0',
      'ip_vs',
      'match-set s src -j MASQUERADE',
    ]);
  });
});
