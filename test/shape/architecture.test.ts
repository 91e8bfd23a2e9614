/**
 * The arrows of ../shared/ARCHITECTURE.md, checked on the import statements of every source
 * file: the layers depend on each other only in the directions drawn there, and the program the
 * image runs (src/cli/main.ts and everything it reaches) contains no lab, test or bench code.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const LAYERS = ['net', 'bgp', 'controllers', 'src', 'lab', 'bench'] as const;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** Every module a file imports (or requires or re-exports), as a repository path or a package name. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|require\('([^']+)'\)|^import\s+'([^']+)'/gm)].map(
    (m) => m[1] ?? m[2] ?? m[3]!,
  );
  return specs.map((s) => {
    if (!s.startsWith('.')) return s;
    const target = path.normalize(path.join(path.dirname(file), s));
    for (const candidate of [`${target}.ts`, path.join(target, 'index.ts'), target])
      if (fs.existsSync(path.join(ROOT, candidate))) return candidate;
    return target;
  });
}

const files = LAYERS.flatMap((l) => sources(l));
const edges = files.map((file) => ({ file, imports: importsOf(file) }));
const under = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);

function violations(from: (f: string) => boolean, forbidden: (target: string, file: string) => boolean): string[] {
  return edges.filter((e) => from(e.file)).flatMap((e) => e.imports.filter((t) => forbidden(t, e.file)).map((t) => `${e.file} -> ${t}`));
}

describe('architecture: the arrows that must never exist', () => {
  it('sees the whole tree', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.find((e) => e.file === 'src/agent/routing.ts')?.imports).toContain('bgp/index.ts');
  });

  it('net/ imports nothing of ours but itself', () => {
    expect(
      violations(
        (f) => under(f, 'net'),
        (t) => LAYERS.some((l) => l !== 'net' && under(t, l)),
      ),
    ).toEqual([]);
  });

  it('bgp/ is a library: no src/, controllers/, lab/, bench/, no Kubernetes', () => {
    expect(
      violations(
        (f) => under(f, 'bgp'),
        (t) => ['src', 'controllers', 'lab', 'bench', 'test'].some((l) => under(t, l)) || t.startsWith('@kubernetes/'),
      ),
    ).toEqual([]);
  });

  it('controllers/ never reach the data path, and bgp/ only through its public surface', () => {
    expect(
      violations(
        (f) => under(f, 'controllers'),
        (t) => under(t, 'src/dataplane') || (under(t, 'bgp') && t !== 'bgp/index.ts'),
      ),
    ).toEqual([]);
  });

  it('src/dataplane/ never imports controllers/', () => {
    expect(
      violations(
        (f) => under(f, 'src/dataplane'),
        (t) => under(t, 'controllers'),
      ),
    ).toEqual([]);
  });

  it('the agent uses bgp/ through bgp/index.ts only', () => {
    expect(
      violations(
        (f) => under(f, 'src'),
        (t) => under(t, 'bgp') && t !== 'bgp/index.ts',
      ),
    ).toEqual([]);
  });

  it('nothing of the product imports test/, lab/ or bench/', () => {
    const product = (f: string): boolean => ['net', 'bgp', 'controllers', 'src'].some((l) => under(f, l));
    expect(violations(product, (t) => ['test', 'lab', 'bench'].some((l) => under(t, l)))).toEqual([]);
  });

  it("the image's program reaches no lab, test or bench file", () => {
    const seen = new Set<string>();
    const walk = (f: string): void => {
      if (seen.has(f) || !f.endsWith('.ts')) return;
      seen.add(f);
      for (const t of edges.find((e) => e.file === f)?.imports ?? []) walk(t);
    };
    walk('src/cli/main.ts');
    expect(seen.size).toBeGreaterThan(50);
    expect([...seen].filter((f) => !['net', 'bgp', 'controllers', 'src'].some((l) => under(f, l)))).toEqual([]);
  });

  it('no source file is over 600 lines', () => {
    const long = [...files, ...sources('test')]
      .map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n').length] as const)
      .filter(([, n]) => n > 600);
    expect(long).toEqual([]);
  });
});
