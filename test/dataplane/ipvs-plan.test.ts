/**
 * The IPVS reconciler's pure parts: reading `ipvsadm -Sn` (text captured from ipvsadm 1.31 on
 * Debian's 6.1 kernel) and planning the -R script. The same reconciler runs against the real
 * kernel in test/vm/service-proxy.suite.ts.
 */
import { Ipvs, parseIpvsSave, parseIpvsStats, planIpvs, IpvsService } from '../../src/dataplane/ipvs';
import type { Runner } from '../../src/util/exec';

const SAVED = `-A -t 10.0.0.11:30080 -s lc
-A -t 10.96.0.10:80 -s rr
-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1
-A -u 10.96.0.10:53 -s rr -p 300
-a -u 10.96.0.10:53 -r 10.244.1.3:53 -m -w 1
-A -t [fd00:96::10]:443 -s rr
-a -t [fd00:96::10]:443 -r [fd00:244::2]:8443 -m -w 2
-A -f 7 -s rr
`;

const svc = (
  protocol: IpvsService['protocol'],
  address: string,
  port: number,
  scheduler: string,
  reals: string[] = [],
  persistence?: number,
): IpvsService => ({
  protocol,
  address,
  port,
  scheduler,
  ...(persistence !== undefined ? { persistence } : {}),
  realServers: reals.map((r) => {
    const [a, p] = r.split('@');
    return { address: a!, port: Number(p), weight: 1 };
  }),
});

describe('ipvs reconciler (pure)', () => {
  it('reads the save format, IPv6 in brackets, persistence and weights, firewall-mark services', () => {
    expect(parseIpvsSave(SAVED)).toEqual([
      svc('tcp', '10.0.0.11', 30080, 'lc'),
      svc('tcp', '10.96.0.10', 80, 'rr', ['10.244.1.2@8080']),
      svc('udp', '10.96.0.10', 53, 'rr', ['10.244.1.3@53'], 300),
      { ...svc('tcp', 'fd00:96::10', 443, 'rr'), realServers: [{ address: 'fd00:244::2', port: 8443, weight: 2 }] },
      { ...svc('tcp', '0.0.0.0', 0, 'rr'), fwmark: 7 },
    ]);
    expect(() => parseIpvsSave('-A -t garbage -s rr')).toThrow(/BUG: ipvsadm printed an address we cannot read/);
  });

  it('plans adds, edits, real-server changes and removals of our services only; nothing when equal', () => {
    const have = parseIpvsSave(SAVED);
    const want = [
      svc('tcp', '10.96.0.10', 80, 'lc', ['10.244.1.2@8080', '10.244.2.2@8080']),
      svc('udp', '10.96.0.10', 53, 'rr', ['10.244.1.4@53']),
      svc('tcp', '10.96.0.20', 80, 'rr', ['10.244.3.2@8080'], 60),
    ];
    const ours = (s: IpvsService) => s.address.startsWith('10.96.') || s.address === 'fd00:96::10';
    const { script, changes } = planIpvs(have, want, ours);
    expect(script).toEqual([
      '-D -t [fd00:96::10]:443',
      '-E -t 10.96.0.10:80 -s lc',
      '-a -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 1',
      '-E -u 10.96.0.10:53 -s rr',
      '-d -u 10.96.0.10:53 -r 10.244.1.3:53',
      '-a -u 10.96.0.10:53 -r 10.244.1.4:53 -m -w 1',
      '-A -t 10.96.0.20:80 -s rr -p 60',
      '-a -t 10.96.0.20:80 -r 10.244.3.2:8080 -m -w 1',
    ]);
    expect(changes).toEqual({
      added: ['tcp:10.96.0.20:80'],
      edited: ['tcp:10.96.0.10:80', 'udp:10.96.0.10:53'],
      removed: ['tcp:[fd00:96::10]:443'],
      realServers: [
        'tcp:10.96.0.10:80 -> 10.244.2.2:8080',
        'udp:10.96.0.10:53 -x 10.244.1.3:53',
        'udp:10.96.0.10:53 -> 10.244.1.4:53',
        'tcp:10.96.0.20:80 -> 10.244.3.2:8080',
      ],
    });
    // 10.0.0.11:30080 is not ours here: left alone.
    expect(script.some((l) => l.includes('30080'))).toBe(false);
    expect(planIpvs(want, want, ours).script).toEqual([]);
  });
});

describe('ipvs scheduler flags (kube-router.io/service.schedflags)', () => {
  // ipvsadm prints the mh scheduler's flags by their mh- names; it takes flag-N names in -R.
  const saved = '-A -t 10.96.0.20:80 -s mh -b mh-fallback,mh-port\n-A -t 10.96.0.21:80 -s sh -b sh-port\n';
  it('reads them as a mask whatever their names, and writes flag-N names', () => {
    expect(parseIpvsSave(saved).map((s) => s.schedFlags)).toEqual([3, 2]);
    const want: IpvsService[] = [
      { ...svc('tcp', '10.96.0.20', 80, 'mh'), schedFlags: 3 },
      { ...svc('tcp', '10.96.0.22', 80, 'mh'), schedFlags: 5 },
    ];
    expect(planIpvs(parseIpvsSave(saved), want, () => false).script).toEqual(['-A -t 10.96.0.22:80 -s mh -b flag-1,flag-3']);
  });
  it('a change of flags edits the service; dropping them too', () => {
    const have = parseIpvsSave(saved);
    expect(planIpvs(have, [{ ...svc('tcp', '10.96.0.20', 80, 'mh'), schedFlags: 1 }], () => false).script).toEqual([
      '-E -t 10.96.0.20:80 -s mh -b flag-1',
    ]);
    expect(planIpvs(have, [svc('tcp', '10.96.0.20', 80, 'mh')], () => false).script).toEqual(['-E -t 10.96.0.20:80 -s mh']);
  });
});

describe('ipvs statistics (per-service metrics)', () => {
  // Captured from ipvsadm 1.31 in the test VM (`-Ln --stats --exact`, `-Ln --rate --exact`).
  const STATS = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.96.0.100:80                     12      120      100    10000    20000
  -> 10.244.1.2:8080                     6       60       50     5000    10000
UDP  [fd00:96::10]:53                    3        3        3      180      300
`;
  const RATE = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
  -> RemoteAddress:Port
TCP  10.96.0.100:80                      1        9        8      700      900
  -> 10.244.1.2:8080                     1        9        8      700      900
`;
  it('joins counters and rates per virtual server, real servers aside', () => {
    const s = parseIpvsStats(STATS, RATE);
    expect([...s.keys()]).toEqual(['tcp:10.96.0.100:80', 'udp:[fd00:96::10]:53']);
    expect(s.get('tcp:10.96.0.100:80')).toEqual({
      connections: 12,
      packetsIn: 120,
      packetsOut: 100,
      bytesIn: 10000,
      bytesOut: 20000,
      cps: 1,
      ppsIn: 9,
      ppsOut: 8,
      bpsIn: 700,
      bpsOut: 900,
    });
    expect(s.get('udp:[fd00:96::10]:53')).toMatchObject({ connections: 3, cps: 0 });
  });
});

describe('firewall-mark services with tunnel real servers (DSR)', () => {
  const dsr = (mark: number, reals: string[], tunnel = true): IpvsService => ({
    ...svc('tcp', '198.51.100.7', 8080, 'rr', reals),
    fwmark: mark,
    realServers: svc('tcp', '198.51.100.7', 8080, 'rr', reals).realServers.map((r) => ({ ...r, ...(tunnel ? { tunnel } : {}) })),
  });

  it('reads -f services (IPv4 and -6) and their -i real servers', () => {
    const saved =
      '-A -f 4660 -s rr\n-a -f 4660 -r 10.244.1.5:8080 -i -w 1\n-A -f 17 -6 -s mh -b flag-1\n-a -f 17 -6 -r [fd00::5]:80 -m -w 1\n';
    expect(parseIpvsSave(saved)).toEqual([
      { ...svc('tcp', '0.0.0.0', 0, 'rr'), fwmark: 4660, realServers: [{ address: '10.244.1.5', port: 8080, weight: 1, tunnel: true }] },
      { ...svc('tcp', '::', 0, 'mh', ['fd00::5@80']), fwmark: 17, schedFlags: 1 },
    ]);
  });

  it('adds the service by mark with -i real servers; nothing when equal; a change of forwarding edits the real server', () => {
    const want = [dsr(4660, ['10.244.1.5@8080', '10.244.2.6@8080'])];
    const first = planIpvs([], want, () => true);
    expect(first.script).toEqual(['-A -f 4660 -s rr', '-a -f 4660 -r 10.244.1.5:8080 -i -w 1', '-a -f 4660 -r 10.244.2.6:8080 -i -w 1']);
    expect(first.changes.added).toEqual(['fwm:4660']);
    const have = parseIpvsSave(first.script.join('\n'));
    expect(planIpvs(have, want, () => true).script).toEqual([]);
    const masq = parseIpvsSave(planIpvs([], [dsr(4660, ['10.244.1.5@8080'], false)], () => true).script.join('\n'));
    expect(planIpvs(masq, [dsr(4660, ['10.244.1.5@8080'])], () => true).script).toEqual(['-e -f 4660 -r 10.244.1.5:8080 -i -w 1']);
    // Gone: removed by its mark when ours.
    expect(planIpvs(have, [], (s) => s.fwmark === 4660).script).toEqual(['-D -f 4660']);
    expect(planIpvs(have, [], () => false).script).toEqual([]);
  });

  it('reads the counters of FWM lines under their mark', () => {
    const stats = `Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
FWM  4660                                2       14        0      900        0
  -> 10.244.1.5:8080                     2       14        0      900        0
FWM  17 IPv6                             1        3        0      200        0
`;
    const s = parseIpvsStats(stats, '');
    expect([...s.keys()]).toEqual(['fwm:4660', 'fwm6:17']);
    expect(s.get('fwm:4660')).toMatchObject({ connections: 2, packetsIn: 14, packetsOut: 0 });
  });
});

describe('IPVS connection timeouts (--service-*-timeout)', () => {
  it('are set when they differ, and read again at most once a minute while a run finds them as wanted', async () => {
    let kernel = '900 120 300';
    const calls: string[] = [];
    const exec: Runner = async (_cmd, args) => {
      calls.push(args.join(' '));
      if (args[0] === '--set') kernel = args.slice(1).join(' ');
      return { stdout: `Timeout (tcp tcpfin udp): ${kernel}\n`, stderr: '', code: 0 };
    };
    let now = 0;
    const ipvs = new Ipvs(exec, 'ipvsadm', () => now);
    const want = { tcp: 1200, tcpfin: 0, udp: 45 };
    expect(await ipvs.ensureTimeouts(want)).toBe(true);
    expect(calls).toEqual(['-L --timeout', '--set 1200 0 45']);
    expect(await ipvs.ensureTimeouts(want)).toBe(false);
    now += 59_000;
    expect(await ipvs.ensureTimeouts(want)).toBe(false);
    expect(calls).toHaveLength(2);
    kernel = '900 120 300'; // someone's ipvsadm --set
    now += 1_000;
    expect(await ipvs.ensureTimeouts(want)).toBe(true);
    expect(calls).toHaveLength(4);
    // Other flags are looked at at once.
    expect(await ipvs.ensureTimeouts({ tcp: 1200, tcpfin: 30, udp: 45 })).toBe(true);
    expect(calls.slice(4)).toEqual(['-L --timeout', '--set 1200 30 45']);
    expect(await ipvs.ensureTimeouts({ tcp: 0, tcpfin: 0, udp: 0 })).toBe(false);
    expect(calls).toHaveLength(6);
  });
});
