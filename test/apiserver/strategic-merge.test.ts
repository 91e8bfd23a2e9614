/**
 * Strategic merge patch as kubectl sends it: the patches below are what `kubectl apply`
 * computed for a changed manifest (captured from kubectl 1.32 and 1.20 against the lab's
 * server), plus each directive on its own.
 */
import { PatchError, strategicMergePatch } from '../../lab/apiserver/strategic-merge';

const pod = () => ({
  metadata: { name: 'a', labels: { pod: 'a' }, finalizers: ['x'] },
  spec: {
    containers: [
      {
        name: 'c',
        image: 'img',
        command: ['python3', '-m', 'http.server', '80'],
        ports: [{ containerPort: 80, name: 'http' }],
        env: [{ name: 'A', value: '1' }],
      },
      { name: 'side', image: 'other' },
    ],
  },
});

describe('strategic merge patch', () => {
  it('merges containers by name and ports by number, applying $patch: delete and dropping $setElementOrder', () => {
    const patch = {
      metadata: { labels: { v: '2' } },
      spec: {
        containers: [
          {
            '$setElementOrder/ports': [{ containerPort: 81 }],
            name: 'c',
            ports: [
              { containerPort: 81, name: 'http' },
              { $patch: 'delete', containerPort: 80 },
            ],
          },
        ],
      },
    };
    const out = strategicMergePatch(pod(), patch, 'Pod') as ReturnType<typeof pod>;
    expect(out.metadata.labels).toEqual({ pod: 'a', v: '2' });
    // The container keeps what the patch did not name (image, command, env) and its sibling stays.
    expect(out.spec.containers).toEqual([
      {
        name: 'c',
        image: 'img',
        command: ['python3', '-m', 'http.server', '80'],
        ports: [{ containerPort: 81, name: 'http' }],
        env: [{ name: 'A', value: '1' }],
      },
      { name: 'side', image: 'other' },
    ]);
    expect(JSON.stringify(out)).not.toContain('$');
  });

  it('deletes with null, replaces lists without a merge key, and adds list elements it does not find', () => {
    const out = strategicMergePatch(
      {
        metadata: { name: 's', labels: { a: '1', b: '2' } },
        spec: { selector: { app: 'x' }, ports: [{ port: 80, targetPort: 8080 }], externalIPs: ['1.1.1.1'] },
      },
      { metadata: { labels: { a: null } }, spec: { ports: [{ port: 443, targetPort: 8443 }], externalIPs: ['2.2.2.2'] } },
      'Service',
    ) as { metadata: { labels: Record<string, string> }; spec: { ports: unknown[]; externalIPs: string[] } };
    expect(out.metadata.labels).toEqual({ b: '2' });
    // Service ports merge on "port": 80 stays, 443 joins; externalIPs has no key: replaced.
    expect(out.spec.ports).toEqual([
      { port: 80, targetPort: 8080 },
      { port: 443, targetPort: 8443 },
    ]);
    expect(out.spec.externalIPs).toEqual(['2.2.2.2']);
  });

  it('replaces NetworkPolicy rules whole (their lists have no merge key)', () => {
    const before = {
      spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { a: 'b' } } }] }, { ports: [{ port: 80 }] }] },
    };
    const out = strategicMergePatch(before, { spec: { ingress: [{ ports: [{ port: 81 }] }] } }, 'NetworkPolicy');
    expect(out).toEqual({ spec: { podSelector: {}, ingress: [{ ports: [{ port: 81 }] }] } });
  });

  it('honours $patch: replace on maps and lists, $retainKeys and $deleteFromPrimitiveList', () => {
    const base = pod();
    expect(
      (strategicMergePatch(base, { metadata: { labels: { $patch: 'replace', only: 'this' } } }) as ReturnType<typeof pod>).metadata.labels,
    ).toEqual({
      only: 'this',
    });
    const replaced = strategicMergePatch(
      base,
      { spec: { containers: [{ name: 'new', image: 'n' }, { $patch: 'replace' }] } },
      'Pod',
    ) as ReturnType<typeof pod>;
    expect(replaced.spec.containers).toEqual([{ name: 'new', image: 'n' }]);
    const retained = strategicMergePatch({ spec: { a: 1, b: 2, c: 3 } }, { spec: { $retainKeys: ['a', 'd'], d: 4 } });
    expect(retained).toEqual({ spec: { a: 1, d: 4 } });
    const dropped = strategicMergePatch(base, { metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } }) as ReturnType<typeof pod>;
    expect(dropped.metadata.finalizers).toEqual([]);
    const joined = strategicMergePatch(base, { metadata: { finalizers: ['x', 'y'] } }) as ReturnType<typeof pod>;
    expect(joined.metadata.finalizers).toEqual(['x', 'y']);
    expect(strategicMergePatch(base, { metadata: { $patch: 'delete' } })).toEqual({ spec: base.spec });
  });

  it('refuses a patch that is not an object', () => {
    expect(() => strategicMergePatch(pod(), [1, 2])).toThrow(PatchError);
    expect(() => strategicMergePatch(pod(), 'x')).toThrow(PatchError);
  });
});
