/**
 * The speaker demo: two nodes running `kube-router-ts speaker` in an iBGP mesh (AS 64512, as
 * kube-router's default cluster ASN), each advertising its pod CIDR, and a BIRD top-of-rack
 * router (AS 64513) peering eBGP with both. Namespaces krl-*, files under /run/kube-router-ts/lab.
 * Everything runs as real processes; `--down` removes it all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Netns, Segment, listNetns } from './netns';
import { Bird } from './peers/bird';
import { LAB_DIR, LAB_PREFIX } from './layout';
import { adminRequest } from '../bgp/admin/client';
import type { NeighborView, PathView } from '../bgp/admin/views';
import { formatNeighbors, formatRib } from '../bgp/admin/format';

interface DemoNode {
  name: string;
  address: string;
  address6: string;
  podCidr: string;
  podCidr6: string;
}

const NODES: DemoNode[] = [
  { name: 'node1', address: '10.0.0.1', address6: 'fd00::1', podCidr: '10.233.64.0/24', podCidr6: 'fd00:233:64::/64' },
  { name: 'node2', address: '10.0.0.2', address6: 'fd00::2', podCidr: '10.233.65.0/24', podCidr6: 'fd00:233:65::/64' },
];
const TOR = { name: 'tor', address: '10.0.0.254', address6: 'fd00::fe', asn: 64513 };
const CLUSTER_ASN = 64512;

export const adminSocket = (node: string): string => path.join(LAB_DIR, node, 'admin.sock');

export async function speakerDemoDown(): Promise<void> {
  for (const name of await listNetns(LAB_PREFIX)) await Netns.attach(name).destroy();
  fs.rmSync(LAB_DIR, { recursive: true, force: true });
}

export async function speakerDemoUp(cli: string, out: (line: string) => void): Promise<void> {
  if ((await listNetns(LAB_PREFIX)).length)
    throw new Error(`a lab is already up (namespaces ${LAB_PREFIX}*); take it down with "kube-router-ts lab speaker-demo --down"`);
  fs.mkdirSync(LAB_DIR, { recursive: true });
  try {
    const sw = await Segment.create(`${LAB_PREFIX}sw`);
    const torNs = await Netns.create(`${LAB_PREFIX}${TOR.name}`);
    await sw.join(torNs, 'eth0', [`${TOR.address}/24`, `${TOR.address6}/64`]);
    for (const n of NODES) {
      const ns = await Netns.create(`${LAB_PREFIX}${n.name}`);
      await sw.join(ns, 'eth0', [`${n.address}/24`, `${n.address6}/64`]);
      const dir = path.join(LAB_DIR, n.name);
      fs.mkdirSync(dir, { recursive: true });
      const config = {
        routerId: n.address,
        asn: CLUSTER_ASN,
        hostname: n.name,
        connectRetry: 5,
        gracefulRestart: { restartTime: 90 },
        adminSocket: adminSocket(n.name),
        neighbors: [
          ...NODES.filter((m) => m !== n).map((m) => ({
            address: m.address,
            asn: CLUSTER_ASN,
            families: ['ipv4-unicast', 'ipv6-unicast'],
            description: m.name,
          })),
          { address: TOR.address, asn: TOR.asn, families: ['ipv4-unicast', 'ipv6-unicast'], description: 'top-of-rack' },
        ],
        advertise: [n.podCidr, n.podCidr6],
      };
      const file = path.join(dir, 'speaker.json');
      fs.writeFileSync(file, JSON.stringify(config, null, 2));
      ns.spawn(process.execPath, [cli, 'speaker', '--config', file], { logFile: path.join(dir, 'speaker.log') }).unref();
    }
    const torDir = path.join(LAB_DIR, TOR.name);
    fs.mkdirSync(torDir, { recursive: true });
    await Bird.start(torNs, torDir, {
      routerId: TOR.address,
      asn: TOR.asn,
      localAddress: TOR.address,
      routes: [],
      protocols: NODES.map((n) => ({ name: n.name, neighbor: n.address, asn: CLUSTER_ASN, ipv6NextHop: TOR.address6 })),
    });
  } catch (e) {
    await speakerDemoDown();
    throw e;
  }

  const deadline = Date.now() + 30000;
  for (;;) {
    const views = await Promise.all(
      NODES.map((n) => adminRequest<NeighborView[]>(adminSocket(n.name), 'GET', '/neighbors').catch(() => [] as NeighborView[])),
    );
    if (views.every((v) => v.length === NODES.length && v.every((x) => x.state === 'Established'))) break;
    if (Date.now() > deadline) throw new Error(`sessions did not come up in 30 s; logs are in ${LAB_DIR}/*/speaker.log`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const n1 = NODES[0]!.name;
  out(
    `speaker demo is up: ${NODES.map((n) => `${n.name} (${n.address}, AS ${CLUSTER_ASN}, pod CIDR ${n.podCidr})`).join(', ')}, tor (${TOR.address}, BIRD, AS ${TOR.asn})\n`,
  );
  out(`$ kube-router-ts bgp neighbors --socket ${adminSocket(n1)}`);
  out(formatNeighbors(await adminRequest<NeighborView[]>(adminSocket(n1), 'GET', '/neighbors')));
  out(`\n$ kube-router-ts bgp rib --socket ${adminSocket(n1)}`);
  out(formatRib(await adminRequest<PathView[]>(adminSocket(n1), 'GET', '/rib')));
  out(`\n$ ip netns exec ${LAB_PREFIX}tor birdc -s ${path.join(LAB_DIR, 'tor', 'bird.ctl')} show route`);
  const torNs = Netns.attach(`${LAB_PREFIX}tor`);
  out((await torNs.exec('birdc', ['-s', path.join(LAB_DIR, 'tor', 'bird.ctl'), 'show', 'route'])).stdout.trim());
  out(
    `\nExplore with the commands above (also: bgp rib --family ipv6-unicast, bgp global). Take it down with:\n  node ${cli} lab speaker-demo --down`,
  );
}
