/** --nodeport-bindon-all-ip: which of the node's addresses node ports listen on (pure). */
import { nodePortAddresses } from '../../src/agent/dataplane';

describe('node port addresses (--nodeport-bindon-all-ip)', () => {
  const links = [
    { index: 1, name: 'lo' },
    { index: 2, name: 'eth0' },
    { index: 3, name: 'eth1' },
    { index: 4, name: 'kube-bridge' },
    { index: 5, name: 'kube-dummy-if' },
    { index: 6, name: 'docker0' },
    { index: 7, name: 'tun-10002' },
  ];
  const addresses = [
    { index: 1, cidr: '127.0.0.1/8' },
    { index: 1, cidr: '::1/128' },
    { index: 2, cidr: '10.0.0.11/24' },
    { index: 2, cidr: '10.0.0.211/24' },
    { index: 2, cidr: 'fd00::11/64' },
    { index: 2, cidr: 'fe80::1/64' },
    { index: 3, cidr: '192.168.7.11/24' },
    { index: 4, cidr: '10.244.1.1/24' },
    { index: 5, cidr: '10.96.0.10/32' },
    { index: 6, cidr: '172.17.0.1/16' },
  ];
  it("every interface's addresses but loopback, kube-*, *dummy*, docker* and IPv6 link-local; the families in use", () => {
    expect(nodePortAddresses(links, addresses, { ipv4: true, ipv6: false })).toEqual(['10.0.0.11', '10.0.0.211', '192.168.7.11']);
    expect(nodePortAddresses(links, addresses, { ipv4: true, ipv6: true })).toEqual([
      '10.0.0.11',
      '10.0.0.211',
      '192.168.7.11',
      'fd00::11',
    ]);
  });
});
