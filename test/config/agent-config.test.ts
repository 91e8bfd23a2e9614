import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from '../../src/config/agent-config';
import { agentConfigOf } from '../helpers/agent-flags';
import { flagsMarkdown } from '../../src/config/flags-doc';
import { givenWithoutEffect } from '../../src/config/pending-flags';

const parse = (...argv: string[]) => agentConfigOf(argv, 'node-from-hostname');

describe('agent flags', () => {
  it("every kube-router flag takes effect now: none is named as without effect; --use-nftables-for-netpol chooses the firewall's backend", () => {
    const args = ['--run-router=true', '--use-nftables-for-netpol', '--no-enable-bfd'];
    expect(parse(...args).useNftablesForNetpol).toBe(true);
    expect(parse().useNftablesForNetpol).toBe(false);
    expect(givenWithoutEffect(args)).toEqual([]);
    expect(givenWithoutEffect(['--runtime-endpoint=unix:///run/containerd/containerd.sock'])).toEqual([]);
    expect(() => parse('--cache-sync-timeout=0s')).toThrow(/--cache-sync-timeout: must be greater than 0/);
  });

  it("--disable-source-dest-check: on by default, as kube-router's", () => {
    expect(parse().disableSourceDestCheck).toBe(true);
    expect(parse('--disable-source-dest-check=false').disableSourceDestCheck).toBe(false);
    expect(givenWithoutEffect(['--disable-source-dest-check=true'])).toEqual([]);
  });

  it('--runtime-endpoint (DSR): a unix socket, with or without unix://; none by default', () => {
    expect(parse().runtimeEndpoint).toBe('');
    expect(parse('--runtime-endpoint=unix:///run/containerd/containerd.sock').runtimeEndpoint).toBe(
      'unix:///run/containerd/containerd.sock',
    );
    expect(parse('--runtime-endpoint=/run/crio/crio.sock').runtimeEndpoint).toBe('/run/crio/crio.sock');
    expect(() => parse('--runtime-endpoint=tcp://10.0.0.1:2375')).toThrow(
      /--runtime-endpoint: "tcp:\/\/10.0.0.1:2375" is not a unix socket/,
    );
  });

  it("BFD flags: kube-router's defaults and ranges, timers only with --enable-bfd", () => {
    expect(parse().bfd).toBeUndefined();
    expect(parse('--enable-bfd').bfd).toEqual({ port: 3784, detectMultiplier: 3, desiredMinTxMs: 1000, requiredMinRxMs: 1000 });
    expect(parse('--enable-bfd', '--bfd-port=3785', '--bfd-desired-min-tx-interval=300').bfd).toMatchObject({
      port: 3785,
      desiredMinTxMs: 300,
    });
    // Checked whether BFD is on or not, as kube-router does.
    expect(() => parse('--bfd-detection-multiplier=0')).toThrow(/--bfd-detection-multiplier: "0" is not a detection multiplier \(1-255\)/);
    expect(() => parse('--bfd-port=0')).toThrow(/--bfd-port: "0" is not a UDP port/);
    expect(() => parse('--bfd-port=70000')).toThrow(/--bfd-port: /);
    expect(() => parse('--enable-bfd', '--bfd-required-min-rx-interval=4294968')).toThrow(/--bfd-required-min-rx-interval: .*1-4294967/);
    expect(() => parse('--bfd-desired-min-tx-interval=abc')).toThrow(/--bfd-desired-min-tx-interval: /);
  });

  it('the service proxy flags: sync period, IPVS timeouts in seconds, excluded CIDRs, node port range, the allocator', () => {
    expect(parse()).toMatchObject({
      ipvsSyncPeriodMs: 300000,
      ipvsTimeouts: { tcp: 0, tcpfin: 0, udp: 0 },
      excludedCidrs: [],
      nodePortRange: '30000:32767',
      runServiceProxy: true,
      ipvsGracefulPeriodMs: undefined,
      runLoadBalancer: false,
      loadBalancerDefaultClass: true,
      loadBalancerSyncPeriodMs: 60000,
    });
    const c = parse(
      '--ipvs-sync-period=30s',
      '--service-tcp-timeout=20m',
      '--service-tcpfin-timeout=30s',
      '--service-udp-timeout=1m30s',
      '--excluded-cidrs=10.96.200.0/24,fd00:96:200::/64',
      '--service-node-port-range=31000-31999',
    );
    expect(c).toMatchObject({
      ipvsSyncPeriodMs: 30000,
      ipvsTimeouts: { tcp: 1200, tcpfin: 30, udp: 90 },
      excludedCidrs: ['10.96.200.0/24', 'fd00:96:200::/64'],
      nodePortRange: '31000:31999',
    });
    expect(() => parse('--ipvs-sync-period=0s')).toThrow(/--ipvs-sync-period: must be greater than 0/);
    expect(() => parse('--excluded-cidrs=10.96.0.300/24')).toThrow(/--excluded-cidrs/);
    expect(() => parse('--service-tcp-timeout=soon')).toThrow(/--service-tcp-timeout/);
    expect(() => parse('--service-node-port-range=32767-30000')).toThrow(/--service-node-port-range/);
    expect(() => parse('--loadbalancer-sync-period=0s')).toThrow(/--loadbalancer-sync-period: must be greater than 0/);
    // --ipvs-graceful-period counts only with --ipvs-graceful-termination, and is checked either way (as kube-router's).
    expect(parse('--ipvs-graceful-period=10s').ipvsGracefulPeriodMs).toBeUndefined();
    expect(parse('--ipvs-graceful-termination').ipvsGracefulPeriodMs).toBe(30000);
    expect(parse('--ipvs-graceful-termination', '--ipvs-graceful-period=1m30s').ipvsGracefulPeriodMs).toBe(90000);
    expect(() => parse('--ipvs-graceful-period=0s')).toThrow(/--ipvs-graceful-period: must be greater than 0/);
  });

  it("takes kube-router's defaults", () => {
    const c = parse();
    expect(c).toMatchObject({
      clusterAsn: 64512,
      nodesFullMesh: true,
      enableIbgp: true,
      advertisePodCidr: true,
      advertiseClusterIp: false,
      bgpPort: 179,
      bgpHoldTime: 90,
      enableCni: true,
      enablePodEgress: true,
      routesSyncPeriodMs: 300000,
      runFirewall: true,
      iptablesSyncPeriodMs: 300000,
      netpolDefaultDeny: false,
      overlay: { type: 'subnet', encap: 'ipip', port: 5555 },
      serviceClusterIpRanges: ['10.96.0.0/12'],
      peerRouters: [],
    });
    expect(c.gracefulRestart).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('takes node name from --hostname-override, else the host name', () => {
    expect(parse('--hostname-override=node7').nodeName).toBe('node7');
    expect(parse().nodeName).toBe(process.env.NODE_NAME ?? 'node-from-hostname');
  });

  it('pairs peer router IPs, ASNs, ports and base64 passwords, comma-separated or repeated', () => {
    const c = parse(
      '--peer-router-ips=192.168.1.99,192.168.1.100',
      '--peer-router-asns',
      '65000',
      '--peer-router-asns',
      '65001',
      '--peer-router-ports=179,1179',
      '--peer-router-passwords=U2VjdXJlUGFzc3dvcmQK,',
    );
    expect(c.peerRouters).toEqual([
      { address: '192.168.1.99', asn: 65000, port: 179, password: 'SecurePassword' },
      { address: '192.168.1.100', asn: 65001, port: 1179 },
    ]);
  });

  it('sets a prefix limit per external peer: one value for all, or one each (0 or empty: none)', () => {
    const two = ['--peer-router-ips=10.0.0.1,10.0.0.2', '--peer-router-asns=1,2'];
    expect(parse(...two, '--peer-router-max-prefixes=500').peerRouters.map((p) => p.maxPrefixes)).toEqual([500, 500]);
    expect(parse(...two, '--peer-router-max-prefixes=100,').peerRouters.map((p) => p.maxPrefixes)).toEqual([100, undefined]);
    expect(parse(...two).peerRouters.map((p) => p.maxPrefixes)).toEqual([undefined, undefined]);
    expect(() => parse(...two, '--peer-router-max-prefixes=1,2,3')).toThrow(
      /--peer-router-max-prefixes: needs one value for all peers or one per --peer-router-ips entry/,
    );
    expect(() => parse(...two, '--peer-router-max-prefixes=lots')).toThrow(/--peer-router-max-prefixes: "lots" is not a prefix count/);
  });

  it('refuses default routes from peers unless --bgp-accept-default-route', () => {
    expect(parse().acceptDefaultRoute).toBe(false);
    expect(parse('--bgp-accept-default-route').acceptDefaultRoute).toBe(true);
  });

  it('reads passwords from --peer-router-passwords-file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-pw-'));
    try {
      const file = path.join(dir, 'pw');
      fs.writeFileSync(file, 'U2VjdXJlUGFzc3dvcmQK,\n');
      expect(
        parse('--peer-router-ips=10.0.0.1,10.0.0.2', '--peer-router-asns=1,2', `--peer-router-passwords-file=${file}`).peerRouters[0]!
          .password,
      ).toBe('SecurePassword');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("serves GoBGP's gRPC API on 127.0.0.1:50051 unless the port is 0, on each address given", () => {
    expect(parse().gobgpAdmin).toEqual({ addresses: ['127.0.0.1'], port: 50051 });
    expect(parse('--gobgp-admin-port=0').gobgpAdmin).toBeUndefined();
    expect(parse('--gobgp-admin-address=127.0.0.1,::1', '--gobgp-admin-port=50052').gobgpAdmin).toEqual({
      addresses: ['127.0.0.1', '::1'],
      port: 50052,
    });
    expect(() => parse('--gobgp-admin-address=localhost')).toThrow(/--gobgp-admin-address: "localhost" is not an IP address/);
    expect(() => parse('--gobgp-admin-port=70000')).toThrow(/--gobgp-admin-port/);
    expect(() => parse('--gobgp-admin-address=')).toThrow(/--gobgp-admin-address: no address to listen on/);
  });

  it('serves metrics only with a port, health on 20244 unless 0, as kube-router', () => {
    expect(parse().metrics).toBeUndefined();
    expect(parse().health).toEqual({ port: 20244 });
    expect(parse('--health-port=0').health).toBeUndefined();
    expect(parse('--metrics-port=8080', '--metrics-addr=10.0.0.1').metrics).toEqual({ address: '10.0.0.1', port: 8080, path: '/metrics' });
  });

  it('parses Go-style durations', () => {
    expect(parseDuration('x', '2h22m')).toBe((2 * 60 + 22) * 60000);
    expect(parseDuration('x', '1500ms')).toBe(1500);
    expect(parse('--routes-sync-period=15s', '--bgp-holdtime=9s').routesSyncPeriodMs).toBe(15000);
    expect(parse().injectedRoutesSyncPeriodMs).toBe(60000);
    expect(parse('--injected-routes-sync-period=1m30s').injectedRoutesSyncPeriodMs).toBe(90000);
    expect(() => parse('--injected-routes-sync-period=0s')).toThrow(/--injected-routes-sync-period: must be greater than 0/);
    expect(parse('--bgp-graceful-restart', '--bgp-graceful-restart-time=120s').gracefulRestart).toEqual({
      restartTime: 120,
      deferralTime: 360,
    });
  });

  it.each([
    [['--cluster-asn=0'], /--cluster-asn: "0" is not an AS number/],
    [['--peer-router-ips=10.0.0.1,nope', '--peer-router-asns=1,2'], /--peer-router-ips: "nope" is not an IP address/],
    [
      ['--peer-router-ips=10.0.0.1,10.0.0.2', '--peer-router-asns=1'],
      /--peer-router-asns: needs one AS number per --peer-router-ips entry/,
    ],
    [['--peer-router-ips=10.0.0.1', '--peer-router-asns=1', '--peer-router-ports=70000'], /--peer-router-ports: "70000" is not a port/],
    [
      ['--peer-router-ips=10.0.0.1', '--peer-router-asns=1', '--peer-router-passwords=not base64!'],
      /--peer-router-passwords: passwords must be base64-encoded/,
    ],
    [['--routes-sync-period=5 minutes'], /--routes-sync-period: "5 minutes" is not a duration/],
    [['--bgp-holdtime=2s'], /--bgp-holdtime: must be 0 or whole seconds from 3s/],
    [['--bgp-graceful-restart-time=5000s'], /--bgp-graceful-restart-time: must be whole seconds from 1s to 4095s/],
    [['--router-id=fe80::1'], /--router-id: "fe80::1" is neither an IPv4 address nor "generate"/],
    [['--router-id=0.0.0.0'], /--router-id: must not be 0\.0\.0\.0/],
    [
      [
        `--peer-router-ips=10.0.0.1`,
        '--peer-router-asns=65000',
        `--peer-router-passwords=${Buffer.from('é'.repeat(41)).toString('base64')}`,
      ],
      /a TCP MD5 key has 1 to 80 bytes \(one has 82\)/,
    ],
    [['--service-external-ip-range=10.0.0.0/40'], /--service-external-ip-range: "10.0.0.0\/40" is not a CIDR/],
    [['--iptables-sync-period=0s'], /--iptables-sync-period: must be greater than 0/],
    [['--iptables-sync-period=soon'], /--iptables-sync-period: /],
    [['--enable-ipv4=false'], /--enable-ipv4: at least one/],
    [['--metrics-port=99999'], /--metrics-port: "99999" is not a port \(0-65535\)/],
    [['--health-port=x'], /--health-port: "x" is not a port/],
    [['--metrics-addr=localhost'], /--metrics-addr: "localhost" is not an IP address/],
    [['--metrics-port=9100', '--metrics-path=metrics'], /--metrics-path: "metrics" is not a URL path starting with \//],
    [['--metrics-port=20244', '--metrics-path=/healthz'], /--metrics-path: cannot be \/healthz when metrics and health share a port/],
  ])('%j is refused with a message naming the flag', (argv, message) => {
    expect(() => parse(...argv)).toThrow(message);
  });

  it('lets yargs refuse unknown flags and bad choices', () => {
    expect(() => parse('--peer-router-ipz=1.1.1.1')).toThrow(/Unknown argument/);
    expect(() => parse('--overlay-type=mesh')).toThrow(/overlay-type/);
  });
});

describe('README flag table', () => {
  it('is the one generated from the option table (node dist/src/config/flags-doc.js)', () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    expect(readme).toContain(flagsMarkdown());
  });
});
