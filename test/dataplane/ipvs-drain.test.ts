/**
 * IPVS graceful termination, pure: which real servers drain at weight 0, for how long, and when
 * they go; plus the connection counts read from `ipvsadm -Ln --exact`.
 */
import { IpvsDrain, realServerId } from '../../src/dataplane/ipvs-drain';
import { parseIpvsConnections, planIpvs, type IpvsService } from '../../src/dataplane/ipvs';
import { podGracePeriods } from '../../controllers/pods';

const svc = (...servers: string[]): IpvsService => ({
  protocol: 'tcp',
  address: '10.96.0.10',
  port: 80,
  scheduler: 'rr',
  realServers: servers.map((a) => ({ address: a, port: 8080, weight: 1 })),
});
const A = realServerId('tcp:10.96.0.10:80', { address: '10.244.1.2', port: 8080 });
const B = realServerId('tcp:10.96.0.10:80', { address: '10.244.1.3', port: 8080 });

describe('IPVS graceful termination (--ipvs-graceful-termination)', () => {
  let now = 0;
  const drain = (): IpvsDrain => new IpvsDrain(30_000, () => now);
  beforeEach(() => (now = 1_000_000));

  it('a real server leaving a service that stays keeps weight 0 while it has connections', () => {
    const d = drain();
    const have = [svc('10.244.1.2', '10.244.1.3')];
    const want = [svc('10.244.1.3')];
    expect(d.departing(have, want)).toBe(true);
    const u = d.update(have, want, new Map([[A, 3]]));
    expect(u.started).toEqual([A]);
    expect(u.want[0]!.realServers).toEqual([
      { address: '10.244.1.3', port: 8080, weight: 1 },
      { address: '10.244.1.2', port: 8080, weight: 0 },
    ]);
    // The plan re-weights it, it deletes nothing.
    expect(planIpvs(have, u.want, () => true).script).toEqual(['-e -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 0']);
    expect(d.size).toBe(1);
    // The drift check sees the table as made.
    const after = [svc('10.244.1.3')];
    after[0]!.realServers.push({ address: '10.244.1.2', port: 8080, weight: 0 });
    expect(planIpvs(after, d.keep(want), () => true).script).toEqual([]);
  });

  it('is deleted once its connections are gone', () => {
    const d = drain();
    const have = [svc('10.244.1.2', '10.244.1.3')];
    const want = [svc('10.244.1.3')];
    d.update(have, want, new Map([[A, 3]]));
    now += 5000;
    const u = d.update(have, want, new Map([[A, 0]]));
    expect(u.ended).toEqual([{ id: A, why: 'no connections left' }]);
    expect(planIpvs(have, u.want, () => true).script).toEqual(['-d -t 10.96.0.10:80 -r 10.244.1.2:8080']);
    expect(d.size).toBe(0);
  });

  it('is deleted when its period ends, connections or not; a real server missing from the listing is not counted drained', () => {
    const d = drain();
    const have = [svc('10.244.1.2', '10.244.1.3')];
    const want = [svc('10.244.1.3')];
    d.update(have, want, new Map());
    now += 29_999;
    expect(d.update(have, want, new Map([[A, 7]])).ended).toEqual([]);
    now += 1;
    expect(d.update(have, want, new Map([[A, 7]])).ended).toEqual([{ id: A, why: 'grace period over' }]);
  });

  it("uses the pod's terminationGracePeriodSeconds where known", () => {
    const d = drain();
    const have = [svc('10.244.1.2', '10.244.1.3', '10.244.1.4')];
    const want = [svc('10.244.1.4')];
    const period = (ip: string): number | undefined => (ip === '10.244.1.2' ? 5 : undefined);
    const busy = new Map([
      [A, 1],
      [B, 1],
    ]);
    d.update(have, want, busy, period);
    now += 5000;
    const u = d.update(have, want, busy, period);
    expect(u.ended).toEqual([{ id: A, why: 'grace period over' }]);
    expect(d.size).toBe(1);
  });

  it('a real server that comes back stops draining and gets its weight again', () => {
    const d = drain();
    const have = [svc('10.244.1.2', '10.244.1.3')];
    d.update(have, [svc('10.244.1.3')], new Map([[A, 2]]));
    have[0]!.realServers[0]!.weight = 0;
    const u = d.update(have, [svc('10.244.1.2', '10.244.1.3')], new Map());
    expect(d.size).toBe(0);
    expect(planIpvs(have, u.want, () => true).script).toEqual(['-e -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1']);
  });

  it('a service that goes away takes its real servers at once', () => {
    const d = drain();
    const have = [svc('10.244.1.2')];
    expect(d.departing(have, [])).toBe(false);
    const u = d.update(have, [], new Map([[A, 4]]));
    expect(u).toEqual({ want: [], started: [], ended: [] });
    expect(planIpvs(have, u.want, () => true).script).toEqual(['-D -t 10.96.0.10:80']);
  });
});

describe('ipvsadm -Ln --exact: connections per real server', () => {
  it('adds active and inactive connections, IPv4 and IPv6, firewall-mark services by mark (DSR)', () => {
    const text = [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  10.96.0.10:80 rr',
      '  -> 10.244.1.2:8080              Masq    0      2          5',
      '  -> 10.244.1.3:8080              Masq    1      0          0',
      'FWM  3 rr',
      '  -> 10.244.1.9:80                Tunnel  1      4          0',
      'UDP  [fd00::10]:53 rr persistent 300',
      '  -> [fd00:244:1::2]:53           Masq    1      0          1',
    ].join('\n');
    expect(parseIpvsConnections(text)).toEqual(
      new Map([
        ['tcp:10.96.0.10:80 10.244.1.2:8080', 7],
        ['tcp:10.96.0.10:80 10.244.1.3:8080', 0],
        ['fwm:3 10.244.1.9:80', 4],
        ['udp:[fd00::10]:53 [fd00:244:1::2]:53', 1],
      ]),
    );
  });
});

describe("pods' grace periods", () => {
  it('by pod IP; host-network pods and garbage left out', () => {
    const periods = podGracePeriods([
      { spec: { terminationGracePeriodSeconds: 5 }, status: { podIPs: [{ ip: '10.244.1.2' }, { ip: 'fd00:244:1::2' }] } },
      { spec: { terminationGracePeriodSeconds: 0 }, status: { podIP: '10.244.1.3' } },
      { spec: { hostNetwork: true, terminationGracePeriodSeconds: 9 }, status: { podIP: '10.0.0.11' } },
      { spec: { terminationGracePeriodSeconds: 'soon' as unknown as number }, status: { podIP: '10.244.1.4' } },
      { spec: { terminationGracePeriodSeconds: -1 }, status: { podIP: '10.244.1.5' } },
      {},
    ]);
    expect([...periods]).toEqual([
      ['10.244.1.2', 5],
      ['fd00:244:1::2', 5],
      ['10.244.1.3', 0],
    ]);
  });
});
