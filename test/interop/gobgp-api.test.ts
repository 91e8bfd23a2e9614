/**
 * GoBGP's gRPC API over our speaker (kube-router's --gobgp-admin-address/-port), read by the real
 * `gobgp` CLI from Debian (v3): our speaker (AS 65000, 10.0.0.1) serves the API on 127.0.0.1 in
 * its namespace and peers with BIRD (eBGP AS 65001, routes with MED, communities and large
 * communities, IPv4 and IPv6) and with an address nobody answers on.
 */
import { Topology, Host } from '../helpers/topology';
import { OurSpeaker } from '../helpers/our-speaker';
import { until } from '../../lab/wait';
import { BirdDaemon } from '../../lab/peers/bird';
import type { PeerDaemon } from '../../lab/peers/types';
import { frame } from '../../bgp/admin/grpc';

jest.setTimeout(120000);
const PORT = 50051;

describe("GoBGP's gRPC API, read by the gobgp CLI", () => {
  let topo: Topology;
  let us: Host;
  let bird: Host;
  let speaker: OurSpeaker;
  let daemon: PeerDaemon | undefined;
  const gobgp = async (...args: string[]): Promise<{ code: number; out: string }> => {
    const r = await us.ns.exec('gobgp', ['-u', '127.0.0.1', '-p', String(PORT), ...args], { allowFail: true });
    return { code: r.code, out: r.stdout + r.stderr };
  };

  beforeAll(async () => {
    topo = await Topology.create('gapi');
    us = await topo.host('us', 1);
    bird = await topo.host('bird', 11);
    speaker = await OurSpeaker.start(us.ns, us.dir, {
      routerId: us.address,
      asn: 65000,
      listen: { port: 179 },
      connectRetry: 2,
      neighbors: [
        { address: bird.address, asn: 65001, families: ['ipv4-unicast', 'ipv6-unicast'], description: 'the ToR' },
        { address: '10.0.0.99', asn: 65000 },
      ],
      advertise: ['10.200.0.0/24'],
      gobgpAdmin: { addresses: ['127.0.0.1'], port: PORT },
    });
    daemon = await BirdDaemon.start({
      ns: bird.ns,
      dir: bird.dir,
      asn: 65001,
      address: bird.address,
      address6: bird.address6,
      neighbor: { address: us.address, asn: 65000 },
      routes: ['10.101.0.0/24', '10.101.1.0/24', 'fd00:101::/64'],
      attributes: { med: 7, communities: ['65001:100'], largeCommunities: ['65001:1:2'] },
    });
    await until(async () => (await speaker.rib()).filter((p) => p.source === bird.address).length === 3, 60000, 'BIRD routes in our RIB');
  });
  afterAll(async () => {
    await daemon?.stop();
    await speaker?.stop();
    await topo?.destroy();
  });

  it('gobgp neighbor: each neighbor with its AS, state and route counts', async () => {
    const r = await gobgp('neighbor');
    expect(r.code).toBe(0);
    const rows = r.out.trim().split('\n');
    expect(rows[0]).toMatch(/^Peer\s+AS\s+Up\/Down\s+State\s+\|#Received\s+Accepted$/);
    // Sorted as gobgp sorts: 10.0.0.11 before 10.0.0.99.
    expect(rows[1]).toMatch(/^10\.0\.0\.11\s+65001\s+\d\d:\d\d:\d\d\s+Establ\s+\|\s+3\s+3$/);
    expect(rows[2]).toMatch(/^10\.0\.0\.99\s+65000\s+never\s+(Active|Connect|Idle)\s+\|\s+0\s+0$/);
    expect(rows).toHaveLength(3);
  });

  it('gobgp neighbor ADDR: the session in detail; an unknown address is "not found"', async () => {
    const r = await gobgp('neighbor', bird.address);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`BGP neighbor is ${bird.address}, remote AS 65001`);
    expect(r.out).toMatch(/BGP state = ESTABLISHED, up for \d\d:\d\d:\d\d/);
    expect(r.out).toMatch(new RegExp(`BGP version 4, remote router ID ${bird.address.replace(/\./g, '\\.')}`));
    expect(r.out).toContain('Hold time is 90, keepalive interval is 30 seconds');
    expect(r.out).toMatch(/Received:\s+3/);
    // Both sides' capabilities (BIRD's long-lived graceful restart among them), message counts.
    expect(r.out).toMatch(/multiprotocol:\n\s+ipv4-unicast:\tadvertised and received\n\s+ipv6-unicast:\tadvertised and received/);
    expect(r.out).toMatch(/4-octet-as:\tadvertised and received/);
    expect(r.out).toMatch(/long-lived-graceful-restart:\treceived/);
    expect(r.out).toMatch(/Opens:\s+1\s+1/);
    const missing = await gobgp('neighbor', '10.0.0.77');
    expect(missing.code).not.toBe(0);
    expect(missing.out).toContain('not found neighbor 10.0.0.77');
  });

  it('gobgp global: AS, router ID and listening port', async () => {
    const r = await gobgp('global');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/AS:\s+65000/);
    expect(r.out).toMatch(/Router-ID: 10\.0\.0\.1/);
    expect(r.out).toMatch(/Listening Port: 179, Addresses: /);
  });

  it('gobgp global rib: best paths with next hop, AS path and attributes, for both families, and prefix lookups', async () => {
    const r = await gobgp('global', 'rib');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n').filter((l) => l.trim());
    expect(lines[0]).toMatch(/^\s+Network\s+Next Hop\s+AS_PATH\s+Age\s+Attrs$/);
    const line = (prefix: string): string => lines.find((l) => l.includes(` ${prefix} `)) ?? `no ${prefix} in:\n${r.out}`;
    expect(line('10.101.0.0/24')).toMatch(
      /^\*>\s+10\.101\.0\.0\/24\s+10\.0\.0\.11\s+65001\s+\d\d:\d\d:\d\d\s+\[\{Origin: i\} \{Med: 7\} \{Communities: 65001:100\} \{LargeCommunity: \[ 65001:1:2\]\}\]$/,
    );
    expect(line('10.200.0.0/24')).toMatch(/^\*>\s+10\.200\.0\.0\/24\s+0\.0\.0\.0\s+\d\d:\d\d:\d\d\s+\[\{Origin: i\}\]$/);
    expect(lines).toHaveLength(4);

    const v6 = await gobgp('global', 'rib', '-a', 'ipv6');
    expect(v6.code).toBe(0);
    expect(v6.out).toMatch(new RegExp(`\\*>\\s+fd00:101::/64\\s+${bird.address6}\\s+65001\\s`));

    const exact = await gobgp('global', 'rib', '10.101.1.0/24');
    expect(exact.out).toContain('10.101.1.0/24');
    expect(exact.out).not.toContain('10.101.0.0/24');
    const holding = await gobgp('global', 'rib', '10.101.0.9');
    expect(holding.out).toContain('10.101.0.0/24');
    expect(holding.out).not.toContain('10.101.1.0/24');
    const longer = await gobgp('global', 'rib', '10.101.0.0/16', 'longer-prefixes');
    expect(longer.out).toContain('10.101.0.0/24');
    expect(longer.out).toContain('10.101.1.0/24');
    expect(longer.out).not.toContain('10.200.0.0/24');
    const summary = await gobgp('global', 'rib', 'summary');
    expect(summary.out).toContain('Destination: 3, Path: 3');
  });

  it('gobgp neighbor ADDR adj-in / adj-out: what that neighbor sent and what we send it', async () => {
    const adjIn = await gobgp('neighbor', bird.address, 'adj-in');
    expect(adjIn.code).toBe(0);
    expect(adjIn.out).toContain('10.101.0.0/24');
    expect(adjIn.out).toContain('10.101.1.0/24');
    expect(adjIn.out).not.toContain('10.200.0.0/24');
    const adjOut = await gobgp('neighbor', bird.address, 'adj-out');
    expect(adjOut.code).toBe(0);
    // eBGP: our AS prepended, our address as next hop.
    expect(adjOut.out).toMatch(/10\.200\.0\.0\/24\s+10\.0\.0\.1\s+65000\s/);
    expect(adjOut.out).not.toContain('10.101.0.0/24');
  });

  it('changes are refused (read-only); garbage, a truncated message and 200 connections leave it serving', async () => {
    const add = await gobgp('global', 'rib', 'add', '10.9.0.0/24');
    expect(add.code).not.toBe(0);
    expect(add.out).toMatch(/Unimplemented|not served/i);
    // Not HTTP/2 at all, then an HTTP/2 call with a truncated gRPC message: curl speaks h2c.
    await us.ns.exec(
      'bash',
      ['-c', `exec 3<>/dev/tcp/127.0.0.1/${PORT}; printf 'GET / HTTP/1.1\\r\\n\\r\\n' >&3; timeout 5 cat <&3 >/dev/null`],
      {
        allowFail: true,
      },
    );
    const bad = await us.ns.exec(
      'sh',
      [
        '-c',
        `printf '\\000\\000\\000\\000\\011ab' | curl -s -i --http2-prior-knowledge -H 'content-type: application/grpc' --data-binary @- http://127.0.0.1:${PORT}/apipb.GobgpApi/ListPeer`,
      ],
      { allowFail: true },
    );
    expect(bad.stdout).toMatch(/grpc-status: 3/);
    expect(frame(Buffer.from('x')).toString('hex')).toBe('000000000178');
    // 200 connections at once (64 are taken, the rest refused), then closed.
    await us.ns.exec('bash', ['-c', `for i in $(seq 200); do exec {fd}<>/dev/tcp/127.0.0.1/${PORT} || true; done 2>/dev/null; sleep 1`], {
      allowFail: true,
    });
    const again = await gobgp('neighbor');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/10\.0\.0\.11\s+65001\s+\S+\s+Establ/);
    expect(speaker.alive).toBe(true);
  });
});
