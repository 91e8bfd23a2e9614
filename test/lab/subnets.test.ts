/**
 * A lab over two subnets on this host's kernel. Without overlay the ToR carries cross-subnet pod
 * traffic (kube-router's behaviour: no route from us to nodes outside our subnet). With the
 * overlay on, `lab up` either builds tunnels (a kernel with ipip) or refuses with the reason and
 * what to do instead, leaving nothing behind (a kernel without, like this CI's).
 */
import { tunnelSupportProblem } from '../../lab/cluster';
import { pingMatrix } from '../../lab/status';
import { listNetns } from '../../lab/netns';
import { labCli, labDown, labUp } from '../helpers/lab';
import { TEST_NETNS_PREFIX } from '../helpers/topology';

jest.setTimeout(180000);

const PREFIX = `${TEST_NETNS_PREFIX}sub-`;
const DIR = '/run/kube-router-ts/test-subnets';
const cli = labCli;

describe('lab: nodes in two subnets on this kernel', () => {
  afterEach(() => labDown(DIR, PREFIX));

  it('--enable-overlay=false with a ToR: only same-subnet routes from us, the ToR routes the rest, every pod reaches every other', async () => {
    const { lab } = await labUp(DIR, PREFIX, ['--nodes', '4', '--subnets', '2', '--pods', '1', '--tor', '--enable-overlay=false']);
    expect(lab.state.nodes.map((n) => `${n.name} ${n.ip} subnet ${n.subnet}`)).toEqual([
      'node1 10.0.0.11 subnet 1',
      'node2 10.0.0.12 subnet 1',
      'node3 10.0.1.13 subnet 2',
      'node4 10.0.1.14 subnet 2',
    ]);
    const pings = await pingMatrix(lab);
    expect(pings).toHaveLength(12);
    expect(pings.filter((p) => !p.ok)).toEqual([]);
    const sh = async (ns: string, ...args: string[]) => (await lab.netns(`${PREFIX}${ns}`).exec(args[0]!, args.slice(1))).stdout;
    expect(await sh('node1', 'ip', 'route', 'show', 'table', 'all', 'proto', '44')).toBe('10.244.2.0/24 via 10.0.0.12 dev eth0 \n');
    expect(await sh('node3', 'ip', 'route', 'show', 'table', 'all', 'proto', '44')).toBe('10.244.4.0/24 via 10.0.1.14 dev eth0 \n');
    expect(await sh('tor', 'ip', 'route', 'show', 'proto', 'bird')).toMatch(
      /^10\.244\.1\.0\/24 via 10\.0\.0\.11 dev \S+ .*\n10\.244\.2\.0\/24 via 10\.0\.0\.12 dev \S+ .*\n10\.244\.3\.0\/24 via 10\.0\.1\.13 dev \S+ .*\n10\.244\.4\.0\/24 via 10\.0\.1\.14 dev \S+ .*\n$/,
    );
    const status = await cli('lab', 'status', '--json', `--dir=${DIR}`);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { nodes: { tunnels: unknown[] }[] }).nodes.map((n) => n.tunnels)).toEqual([[], [], [], []]);

    // `lab restart` waits only for what the nodes carry: cross-subnet pod CIDRs are the ToR's.
    const restart = await cli('lab', 'restart', `--dir=${DIR}`);
    expect(restart.stderr).toBe('');
    expect(restart.stdout).toMatch(/agents restarted with .*--enable-overlay=false.*; BGP converged/);
    expect((await pingMatrix(lab)).filter((p) => !p.ok)).toEqual([]);
  });

  it('with the overlay on: tunnels where the kernel has ipip, otherwise a clear refusal that leaves nothing behind', async () => {
    const problem = await tunnelSupportProblem(`${PREFIX}t-`);
    const up = await cli('lab', 'up', '--nodes', '2', '--subnets', '2', '--pods', '1', `--dir=${DIR}`, `--prefix=${PREFIX}`);
    if (problem) {
      process.stdout.write(`\n[subnets] this kernel has no ipip (${problem}): checking the refusal\n`);
      expect(up.code).toBe(1);
      expect(up.stderr).toMatch(
        /this kernel cannot create ipip tunnels .*it lacks the ipip module\. The overlay cannot work here: run the lab in a VM \(lab up --vm \.\.\.\), or with --enable-overlay=false/,
      );
      expect(up.stderr.trim().split('\n')).toHaveLength(1);
      expect(await listNetns(PREFIX)).toEqual([]);
    } else {
      process.stdout.write('\n[subnets] this kernel has ipip: checking the tunnels\n');
      if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.stderr}${up.stdout}`);
      const s = JSON.parse((await cli('lab', 'status', '--json', `--dir=${DIR}`)).stdout) as {
        ok: boolean;
        nodes: { tunnels: { name: string }[] }[];
      };
      expect(s.ok).toBe(true);
      expect(s.nodes.map((n) => n.tunnels.map((t) => t.name))).toEqual([['tun-100112'], ['tun-100011']]);
    }
  });
});
