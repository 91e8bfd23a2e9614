/**
 * The tunnel and GUE-port reconcilers against a kernel that has ipip, fou and ip6_tunnel (the
 * VM's), read back with `ip -d link` and `ip fou`.
 */
import { vmGroup, vmNetnsCall, vmNetnsReconcile } from './group';
import type { DesiredTunnel } from '../../src/dataplane/tunnels';
import type { FouPort } from '../../src/dataplane/fou';

describe('overlay tunnels in the VM', () => {
  const g = vmGroup('tunnels');
  const NS = 'tun-test';
  const reconcile = (tunnels: DesiredTunnel[], prune = true) => vmNetnsReconcile(g.vm(), NS, 'tunnels', { tunnels, prune });
  const ip = async (...args: string[]) => (await g.vm().run(`ip -n ${NS} ${args.join(' ')}`)).stdout;

  beforeAll(async () => {
    await g.vm().run(`ip netns add ${NS} && ip -n ${NS} link set lo up && ip -n ${NS} link add eth0 type veth peer name eth1 &&
      ip -n ${NS} addr add 10.0.0.11/24 dev eth0 && ip -n ${NS} addr add fd00::11/64 dev eth0 nodad && ip -n ${NS} link set eth0 up && ip -n ${NS} link set eth1 up`);
  });

  const ipip: DesiredTunnel = {
    name: 'tun-100113',
    family: 4,
    local: '10.0.0.11',
    remote: '10.0.1.13',
    encap: 'ipip',
    port: 5555,
    mtu: 1480,
  };
  const fou: DesiredTunnel = {
    name: 'tun-100114',
    family: 4,
    local: '10.0.0.11',
    remote: '10.0.1.14',
    encap: 'fou',
    port: 5555,
    mtu: 1468,
  };
  const v6: DesiredTunnel = {
    name: 'tun-4c49ed0a816',
    family: 6,
    local: 'fd00::11',
    remote: 'fd00:1::13',
    encap: 'ipip',
    port: 5555,
    mtu: 1460,
  };

  it('creates ipip, GUE (fou) and ip6ip6 tunnels with their MTUs, up, and changes nothing the second time', async () => {
    expect(await reconcile([ipip, fou, v6])).toEqual({
      created: ['tun-100113', 'tun-100114', 'tun-4c49ed0a816'],
      recreated: [],
      removed: [],
    });
    expect(await reconcile([ipip, fou, v6])).toEqual({ created: [], recreated: [], removed: [] });
    const a = await ip('-d', 'link', 'show', 'tun-100113');
    expect(a).toMatch(/tun-100113@NONE: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1480/);
    expect(a).toMatch(/ipip ipip remote 10\.0\.1\.13 local 10\.0\.0\.11/);
    const b = await ip('-d', 'link', 'show', 'tun-100114');
    expect(b).toMatch(/mtu 1468/);
    expect(b).toMatch(/remote 10\.0\.1\.14 local 10\.0\.0\.11 ttl 225 .*encap gue encap-sport auto encap-dport 5555/s);
    const c = await ip('-d', 'link', 'show', 'tun-4c49ed0a816');
    expect(c).toMatch(/mtu 1460/);
    expect(c).toMatch(/ip6tnl ip6ip6 remote fd00:1::13 local fd00::11 .*encaplimit none/s);
  });

  it('re-creates a tunnel whose encapsulation or endpoint changed; prunes its own tunnels and nothing else', async () => {
    await ip('link', 'add', 'other0', 'type', 'ipip', 'local', '10.0.0.11', 'remote', '10.9.9.9');
    expect(await reconcile([{ ...ipip, encap: 'fou', mtu: 1468 }, { ...fou, remote: '10.0.1.15' }, v6])).toEqual({
      created: [],
      recreated: ['tun-100113', 'tun-100114'],
      removed: [],
    });
    expect(await ip('-d', 'link', 'show', 'tun-100113')).toMatch(/encap gue/);
    expect(await reconcile([v6], false)).toEqual({ created: [], recreated: [], removed: [] });
    expect(await reconcile([v6])).toEqual({ created: [], recreated: [], removed: ['tun-100113', 'tun-100114'] });
    expect(await ip('-o', 'link', 'show')).toMatch(/other0@NONE/);
    expect(await reconcile([])).toMatchObject({ removed: ['tun-4c49ed0a816'] });
  });

  it('sets up and removes the GUE receive port per family', async () => {
    const fouPorts = (want: FouPort[]) => vmNetnsCall(g.vm(), NS, 'fouPorts', want, [5555]);
    expect(
      await fouPorts([
        { port: 5555, family: 4 },
        { port: 5555, family: 6 },
      ]),
    ).toEqual(['added 5555/4', 'added 5555/6']);
    expect(
      await fouPorts([
        { port: 5555, family: 4 },
        { port: 5555, family: 6 },
      ]),
    ).toEqual([]);
    expect((await g.vm().run(`ip netns exec ${NS} ip fou show`)).stdout).toMatch(/port 5555 gue/);
    expect(await fouPorts([])).toEqual(['removed 5555/4', 'removed 5555/6']);
  });

  it('says clearly that the kernel lacks tunnel support when it does', async () => {
    // Module loading off and the modules unloaded: this kernel now behaves like the host's.
    await g.vm().run('echo /bin/false > /proc/sys/kernel/modprobe; modprobe -r ipip || true');
    try {
      await expect(reconcile([ipip])).rejects.toThrow(
        /cannot create tunnel tun-100113: this kernel has no ipip support \(module ipip\); the overlay needs it/,
      );
    } finally {
      await g.vm().run('echo /sbin/modprobe > /proc/sys/kernel/modprobe');
    }
  });
});
