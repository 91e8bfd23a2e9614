/**
 * What kubectl reads before and while it prints: discovery documents (how "netpol" or "no" map
 * to a URL) and the server-side Table (columns and cells as the real API server prints them).
 */
import { discovery } from '../../lab/apiserver/discovery';
import { humanDuration, toTable, wantsTable } from '../../lab/apiserver/table';
import { RESOURCES } from '../../lab/apiserver/resources';
import { SelectorError, matchesFields, matchesLabels, parseSelector } from '../../lab/apiserver/selectors';

const resource = (plural: string) => RESOURCES.find((r) => r.plural === plural)!;

describe('discovery', () => {
  it('lists every resource with verbs, short names and status subresources', () => {
    const core = discovery('/api/v1', '127.0.0.1:6443') as {
      resources: { name: string; shortNames?: string[]; verbs: string[]; namespaced: boolean }[];
    };
    const byName = new Map(core.resources.map((r) => [r.name, r]));
    expect(byName.get('nodes')).toMatchObject({
      shortNames: ['no'],
      namespaced: false,
      verbs: expect.arrayContaining(['get', 'list', 'watch', 'patch']),
    });
    expect(byName.get('pods')).toMatchObject({ shortNames: ['po'], namespaced: true, categories: ['all'] });
    expect(byName.get('pods/status')).toMatchObject({ verbs: ['get', 'patch', 'update'] });
    const net = discovery('/apis/networking.k8s.io/v1', 'x') as {
      groupVersion: string;
      resources: { name: string; shortNames?: string[] }[];
    };
    expect(net.groupVersion).toBe('networking.k8s.io/v1');
    expect(net.resources[0]).toMatchObject({ name: 'networkpolicies', shortNames: ['netpol'] });
    const groups = discovery('/apis', 'x') as { groups: { name: string; preferredVersion: { groupVersion: string } }[] };
    expect(groups.groups.map((g) => g.name).sort()).toEqual(['coordination.k8s.io', 'discovery.k8s.io', 'networking.k8s.io']);
    expect(discovery('/apis/discovery.k8s.io', 'x')).toMatchObject({
      kind: 'APIGroup',
      preferredVersion: { groupVersion: 'discovery.k8s.io/v1' },
    });
    expect(discovery('/api', '10.0.0.250:6443')).toMatchObject({
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ serverAddress: '10.0.0.250:6443' }],
    });
    expect(discovery('/apis/nope.example/v1', 'x')).toBeUndefined();
    expect(discovery('/api/v1/nodes', 'x')).toBeUndefined();
  });
});

describe('server-side printing', () => {
  it('recognizes the Accept header kubectl get sends', () => {
    expect(
      wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'),
    ).toBe(true);
    expect(wantsTable('application/json')).toBe(false);
    expect(wantsTable(undefined)).toBe(false);
  });

  it('prints ages as Kubernetes does', () => {
    const s = 1000;
    const cases: [number, string][] = [
      [45 * s, '45s'],
      [119 * s, '119s'],
      [200 * s, '3m20s'],
      [600 * s, '10m'],
      [5 * 3600 * s + 600 * s, '5h10m'],
      [30 * 3600 * s, '30h'],
      [(3 * 24 + 4) * 3600 * s, '3d4h'],
      [400 * 24 * 3600 * s, '400d'],
      [(3 * 365 + 5) * 24 * 3600 * s, '3y5d'],
      [-500, '0s'],
    ];
    for (const [ms, text] of cases) expect(humanDuration(ms)).toBe(text);
  });

  it("prints nodes, pods, services and policies with the real server's columns", () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    const created = '2026-11-30T11:55:00Z';
    const node = {
      metadata: { name: 'node1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '10.0.0.11' }],
        nodeInfo: { kubeletVersion: 'v1.31.0' },
      },
    };
    const t = toTable(resource('nodes'), [node], '7', null, now) as {
      columnDefinitions: { name: string; priority: number }[];
      rows: { cells: unknown[]; object: { kind: string } }[];
    };
    expect(t.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name)).toEqual(['Name', 'Status', 'Roles', 'Age', 'Version']);
    expect(t.rows[0]!.cells.slice(0, 6)).toEqual(['node1', 'Ready', 'control-plane', '5m', 'v1.31.0', '10.0.0.11']);
    expect(t.rows[0]!.object.kind).toBe('PartialObjectMetadata');

    const pod = {
      metadata: { name: 'a', namespace: 'x', creationTimestamp: created },
      spec: { nodeName: 'node1', containers: [{ name: 'c' }] },
      status: { phase: 'Running', podIP: '10.244.1.5', containerStatuses: [{ name: 'c', ready: true, restartCount: 2 }] },
    };
    const p = toTable(resource('pods'), [pod], '7', 'Object', now) as { rows: { cells: unknown[]; object: unknown }[] };
    expect(p.rows[0]!.cells.slice(0, 7)).toEqual(['a', '1/1', 'Running', '2', '5m', '10.244.1.5', 'node1']);
    expect(p.rows[0]!.object).toBe(pod);

    const svc = {
      metadata: { name: 's', creationTimestamp: created },
      spec: {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.10',
        ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }],
        selector: { app: 'web' },
      },
    };
    expect((toTable(resource('services'), [svc], '7', null, now) as { rows: { cells: unknown[] }[] }).rows[0]!.cells).toEqual([
      's',
      'LoadBalancer',
      '10.96.0.10',
      '<pending>',
      '80:30080/TCP',
      '5m',
      'app=web',
    ]);

    const policy = { metadata: { name: 'p', creationTimestamp: created }, spec: { podSelector: { matchLabels: { pod: 'a' } } } };
    expect(
      (toTable(resource('networkpolicies'), [policy], '7', 'None', now) as { rows: { cells: unknown[]; object: unknown }[] }).rows[0],
    ).toEqual({
      cells: ['p', 'pod=a', '5m'],
      object: undefined,
    });
  });
});

describe('selectors', () => {
  // Here with the printing tests: both are what kubectl's users type.
  const labels = { app: 'web', tier: 'front' };
  const matches = (sel: string, l: Record<string, string> = labels) => matchesLabels(parseSelector(sel), l);

  it('takes equality and set-based label requirements, with commas inside sets', () => {
    expect(matches('app=web,tier==front')).toBe(true);
    expect(matches('app in (web, api),tier notin (back)')).toBe(true);
    expect(matches('app in (api,db)')).toBe(false);
    expect(matches('app notin (web)')).toBe(false);
    expect(matches('env notin (prod)')).toBe(true);
    expect(matches('env in (prod)')).toBe(false);
    expect(matches('app,!env')).toBe(true);
    expect(matches('tier!=front')).toBe(false);
    expect(matches('app', {})).toBe(false);
    expect(() => parseSelector('app in web')).toThrow(SelectorError);
    expect(() => parseSelector('a b')).toThrow(SelectorError);
  });

  it('refuses set-based field selectors and unknown fields', () => {
    const pod = { metadata: { name: 'a' }, spec: { nodeName: 'node1' }, status: { phase: 'Running' } };
    expect(matchesFields(parseSelector('spec.nodeName=node1,status.phase!=Failed'), pod)).toBe(true);
    expect(() => matchesFields(parseSelector('spec.nodeName in (node1)'), pod)).toThrow(SelectorError);
    expect(() => matchesFields(parseSelector('spec.hostname=x'), pod)).toThrow(SelectorError);
  });
});
