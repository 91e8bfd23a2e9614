/**
 * The ipset drift check reads `ipset save` every second (thousands of members in a large
 * cluster): differingSets answers in one pass, without sorting, which sets differ from their specs.
 */
import { differingSets, IpSets, IpSetSpec } from '../../src/dataplane/ipsets';
import type { Runner } from '../../src/util/exec';

const spec = (name: string, members: string[]): IpSetSpec => ({ name, type: 'hash:net', family: 'inet', members });
const save = (sets: Record<string, string[]>): string =>
  Object.entries(sets)
    .flatMap(([name, members]) => [
      `create ${name} hash:net family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x1`,
      ...members.map((m) => `add ${name} ${m} timeout 0`),
    ])
    .join('\n') + '\n';

const SPECS = [
  spec('kube-router-pod-subnets', ['10.244.1.0/24', '10.244.2.0/24', '10.244.2.0/24']),
  spec('kube-router-node-ips', ['10.0.0.1', '10.0.0.2']),
];

describe('ipset drift check', () => {
  it.each([
    [
      'the same',
      {
        'kube-router-pod-subnets': ['10.244.2.0/24', '10.244.1.0/24'],
        'kube-router-node-ips': ['10.0.0.1', '10.0.0.2'],
        other: ['1.1.1.1'],
      },
      false,
    ],
    ['a member missing', { 'kube-router-pod-subnets': ['10.244.1.0/24'], 'kube-router-node-ips': ['10.0.0.1', '10.0.0.2'] }, true],
    [
      'a stranger added',
      { 'kube-router-pod-subnets': ['10.244.1.0/24', '10.244.2.0/24', '6.6.6.0/24'], 'kube-router-node-ips': ['10.0.0.1', '10.0.0.2'] },
      true,
    ],
    [
      'a member swapped',
      { 'kube-router-pod-subnets': ['10.244.1.0/24', '10.244.3.0/24'], 'kube-router-node-ips': ['10.0.0.1', '10.0.0.2'] },
      true,
    ],
    ['a set flushed', { 'kube-router-pod-subnets': [], 'kube-router-node-ips': ['10.0.0.1', '10.0.0.2'] }, true],
    ['a set missing', { 'kube-router-pod-subnets': ['10.244.1.0/24', '10.244.2.0/24'] }, true],
  ] as const)('%s', (_what, sets, differs) => {
    const text = save(sets as unknown as Record<string, string[]>);
    expect(differingSets(text, SPECS).length > 0).toBe(differs);
  });

  it('5,000 members: one pass, no sorting (checked every second)', () => {
    const members = Array.from({ length: 5000 }, (_, i) => `10.${64 + (i >> 8)}.${i & 255}.0/24`);
    const text = save({ 'kube-router-pod-subnets': [...members].reverse() });
    const specs = [spec('kube-router-pod-subnets', members)];
    expect(differingSets(text, specs)).toEqual([]);
    expect(differingSets(text.replace('10.64.7.0/24', '10.64.7.0/25'), specs)).toEqual(specs);
  });
});

describe('which sets differ', () => {
  it('names exactly the sets that differ; all of them when ipset could not be read', () => {
    const text = save({ 'kube-router-pod-subnets': ['10.244.1.0/24', '10.244.2.0/24'], 'kube-router-node-ips': ['10.0.0.1'] });
    expect(differingSets(text, SPECS).map((s) => s.name)).toEqual(['kube-router-node-ips']);
    expect(differingSets(undefined, SPECS)).toEqual(SPECS);
  });
});

describe('ipset restore while someone dumps the sets', () => {
  it('a swap refused with EBUSY is run again, with the same temporary set (nothing left behind)', async () => {
    const scripts: string[] = [];
    let busy = 2;
    // Both sets exist (empty): they are refilled through their temporary twins and swapped.
    const existing = save({ 'kube-router-pod-subnets': [], 'kube-router-node-ips': [] });
    const runner: Runner = async (_cmd, args, opts) => {
      if (args[0] === 'save') return { code: 0, stdout: existing, stderr: '' };
      scripts.push(opts!.input!);
      if (busy-- > 0)
        return { code: 1, stdout: '', stderr: 'ipset v7.17: Error in line 5: Kernel error received: Device or resource busy\n' };
      return { code: 0, stdout: '', stderr: '' };
    };
    expect(await new IpSets(runner).reconcile(SPECS)).toEqual(['kube-router-pod-subnets', 'kube-router-node-ips']);
    expect(scripts).toHaveLength(3);
    expect(new Set(scripts).size).toBe(1);
    const tmps = new Set(scripts[0]!.match(/krt-tmp-[0-9a-f]{8}/g));
    expect(tmps.size).toBe(2);
  });

  it('a set that does not exist yet is created and filled directly (nothing names it yet: no swap)', async () => {
    const scripts: string[] = [];
    const runner: Runner = async (_cmd, args, opts) => {
      if (args[0] !== 'save') scripts.push(opts!.input!);
      return { code: 0, stdout: '', stderr: '' };
    };
    await new IpSets(runner).reconcile([spec('KRT-NP-X', ['10.0.0.0/8', '10.1.0.0/16 nomatch'])]);
    expect(scripts).toEqual([
      'create KRT-NP-X hash:net family inet hashsize 1024 maxelem 65536 timeout 0 -exist\n' +
        'add KRT-NP-X 10.0.0.0/8 timeout 0\nadd KRT-NP-X 10.1.0.0/16 nomatch timeout 0\n',
    ]);
  });

  it('any other failure, or EBUSY five times, is an error naming ipset', async () => {
    const runner =
      (stderr: string): Runner =>
      async (_cmd, args) =>
        args[0] === 'save' ? { code: 0, stdout: '', stderr: '' } : { code: 1, stdout: '', stderr };
    await expect(new IpSets(runner('Syntax error')).reconcile(SPECS)).rejects.toThrow(/ipset restore exited with 1: Syntax error/);
    await expect(new IpSets(runner('Device or resource busy')).reconcile(SPECS)).rejects.toThrow(/resource busy/);
  });
  it('an exception member (nomatch, as network policy ipBlocks use) differs from the same CIDR as a plain member', () => {
    const want = [spec('KRT-NP-1', ['10.0.0.0/8', '10.1.0.0/16 nomatch'])];
    const text = (flag: string) =>
      `create KRT-NP-1 hash:net family inet hashsize 1024 maxelem 65536 timeout 0\nadd KRT-NP-1 10.1.0.0/16 timeout 0${flag}\nadd KRT-NP-1 10.0.0.0/8 timeout 0\n`;
    expect(differingSets(text(' nomatch'), want)).toEqual([]);
    expect(differingSets(text(''), want)).toEqual(want);
  });
});
