/**
 * Route reflection in the lab (`lab up --route-reflectors 2`): node1 and node2 are reflectors
 * (kube-router.io/rr.server=42), node3 and node4 their clients (rr.client=42). Clients hold
 * exactly one iBGP session per reflector and learn each other's pod CIDRs reflected, with the
 * originating node as next hop, ORIGINATOR_ID and CLUSTER_LIST; every pod reaches every other.
 * A reflector going away (graceful restart off here, so nothing is kept as stale) leaves the
 * other carrying the routes.
 */
import { adminRequest } from '../../bgp/admin/client';
import type { PathView } from '../../bgp/admin/views';
import type { LabStatus } from '../../lab/status';
import { pingMatrix, podPing } from '../../lab/status';
import { until } from '../../lab/wait';
import { labCli, labDown, labUp } from '../helpers/lab';
import { TEST_NETNS_PREFIX } from '../helpers/topology';

jest.setTimeout(300000);

const PREFIX = `${TEST_NETNS_PREFIX}rr-`;
const DIR = '/run/kube-router-ts/test-rr';

describe('lab: route reflectors', () => {
  afterAll(() => labDown(DIR, PREFIX));

  it('clients peer only with the reflectors, learn every pod CIDR reflected, and survive a reflector going away', async () => {
    const { lab } = await labUp(DIR, PREFIX, [
      '--nodes',
      '4',
      '--pods',
      '1',
      '--route-reflectors',
      '2',
      '--agent-args=--bgp-graceful-restart=false',
    ]);
    const statusOut = await labCli('lab', 'status', '--json', `--dir=${DIR}`);
    const status = JSON.parse(statusOut.stdout) as LabStatus;
    expect(
      status.nodes.map((n) => `${n.name} ${n.role} ${n.sessions.filter((s) => s.state === 'Established').length}/${n.sessions.length}`),
    ).toEqual(['node1 reflector 3/3', 'node2 reflector 3/3', 'node3 client 2/2', 'node4 client 2/2']);
    expect(
      status.nodes
        .find((n) => n.name === 'node3')!
        .sessions.map((s) => s.peer)
        .sort(),
    ).toEqual(['10.0.0.11', '10.0.0.12']);
    const text = (await labCli('lab', 'status', `--dir=${DIR}`)).stdout;
    expect(text).toMatch(/node3\s+client\s+10\.0\.0\.13/);
    expect(text).toMatch(/node1\s+reflector\s+10\.0\.0\.11/);
    expect((await pingMatrix(lab)).filter((p) => !p.ok)).toEqual([]);

    // node4's pod CIDR at node3: once from each reflector, next hop node4, reflected attributes.
    const node3 = lab.node('node3');
    const rib = async (): Promise<PathView[]> =>
      (await adminRequest<PathView[]>(node3.adminSocket, 'GET', '/rib')).filter((p) => p.prefix === '10.244.4.0/24');
    const paths = await rib();
    expect(paths.map((p) => `${p.source} ${p.nextHop} ${p.originatorId} ${p.clusterList?.join(',')}`).sort()).toEqual([
      '10.0.0.11 10.0.0.14 10.0.0.14 0.0.0.42',
      '10.0.0.12 10.0.0.14 10.0.0.14 0.0.0.42',
    ]);
    const route = await lab.netns(node3.netns).exec('ip', ['route', 'show', 'proto', '44', '10.244.4.0/24']);
    expect(route.stdout).toMatch(/^10\.244\.4\.0\/24 via 10\.0\.0\.14 dev eth0/);

    // node1 goes away (Cease: graceful restart is off): node2 alone carries the routes.
    await lab.stopAgent(lab.node('node1'));
    await until(async () => (await rib()).every((p) => p.source === '10.0.0.12'), 30000, 'node3 keeps node4 via node2 only');
    expect((await rib()).length).toBe(1);
    const [p3, p4] = ['node3-pod1', 'node4-pod1'].map((n) => lab.state.pods.find((p) => p.name === n)!);
    expect(await podPing(lab, p3!, p4!.ip!)).toBe(true);
    expect((await lab.netns(node3.netns).exec('ip', ['route', 'show', 'proto', '44'])).stdout).toMatch(
      /10\.244\.4\.0\/24 via 10\.0\.0\.14/,
    );
  });
});
