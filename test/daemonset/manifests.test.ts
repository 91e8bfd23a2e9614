/**
 * The deployment files, checked as far as this machine allows (no cluster, no image build):
 * the YAML parses and has what Kubernetes requires, every container argument parses with our
 * own flag parser, the ClusterRole grants exactly what the informers use, the liveness probe
 * and ports match the flags, mounts match volumes, and the Dockerfile copies what exists and
 * installs packages Debian has.
 */
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import type { AgentConfig } from '../../src/config/agent-config';
import { agentConfigOf } from '../helpers/agent-flags';
import { apiAccess } from '../../controllers/cluster-watch';
import { run } from '../../src/util/exec';
import { AGENT_ENV, AGENT_NODE_ARGS } from '../../src/agent/process-env';

const ROOT = path.resolve(__dirname, '../..');
const DIR = path.join(ROOT, 'daemonset');
const FILES = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

type Obj = Record<string, any>;
const docs = (file: string): Obj[] => (yaml.loadAll(fs.readFileSync(path.join(DIR, file), 'utf8')) as Obj[]).filter(Boolean);
const parseArgs = (args: string[], env: Record<string, string>): AgentConfig => {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return agentConfigOf(args, env.NODE_NAME ?? 'unset');
  } finally {
    process.env = saved;
  }
};
/** Runs `fn` on `args` with each --peer-router-passwords-file pointing at a copy of the Secret mounted there. */
function withSecretFiles<T>(all: Obj[], args: string[], fn: (args: string[]) => T): T {
  const tmp = fs.mkdtempSync('/tmp/krt-secret-');
  try {
    const secret = all.find((d) => d.kind === 'Secret');
    return fn(
      args.map((a) => {
        const m = /^--peer-router-passwords-file=(.+)$/.exec(a);
        if (!m) return a;
        const key = path.basename(m[1]!);
        fs.writeFileSync(path.join(tmp, key), String(secret?.stringData?.[key] ?? ''));
        return `--peer-router-passwords-file=${tmp}/${key}`;
      }),
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
const podSpecs = (d: Obj): Obj | undefined => (d.kind === 'DaemonSet' ? d.spec.template.spec : d.kind === 'Pod' ? d.spec : undefined);

describe('daemonset/ manifests', () => {
  it('holds the set-ups operators need', () => {
    expect(FILES).toEqual([
      'kube-router-ts-all-features.yaml',
      'kube-router-ts-cleanup.yaml',
      'kube-router-ts-routing-cni.yaml',
      'kube-router-ts-tor-peering.yaml',
    ]);
  });

  describe.each(FILES)('%s', (file) => {
    const all = docs(file);

    it('parses, and every object has the fields Kubernetes requires', () => {
      expect(all.length).toBeGreaterThan(0);
      for (const d of all) {
        expect(typeof d.apiVersion).toBe('string');
        expect(typeof d.kind).toBe('string');
        expect(d.metadata?.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
        if (['DaemonSet', 'ServiceAccount', 'Secret', 'Pod'].includes(d.kind)) expect(d.metadata.namespace).toBe('kube-system');
        if (d.kind === 'DaemonSet') {
          expect(d.apiVersion).toBe('apps/v1');
          // apps/v1 requires a selector, and it must match the template's labels.
          for (const [k, v] of Object.entries(d.spec.selector.matchLabels as Record<string, string>))
            expect(d.spec.template.metadata.labels[k]).toBe(v);
        }
        const spec = podSpecs(d);
        if (spec) {
          expect(spec.hostNetwork).toBe(true);
          expect(spec.tolerations).toContainEqual({ operator: 'Exists' });
          const volumes = new Set((spec.volumes as Obj[]).map((v) => v.name));
          for (const c of [...(spec.initContainers ?? []), ...spec.containers] as Obj[]) {
            expect(c.name).toMatch(/^[a-z0-9-]+$/);
            expect(c.image).toMatch(/^\S+:\S+$/);
            for (const m of (c.volumeMounts ?? []) as Obj[]) expect(volumes).toContain(m.name);
          }
        }
      }
    });

    it("every argument of the agent container parses with kube-router-ts's own flags", () => {
      for (const d of all) {
        const spec = podSpecs(d);
        if (!spec) continue;
        const c = (spec.containers as Obj[])[0]!;
        const env = Object.fromEntries(((c.env ?? []) as Obj[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
        const config = withSecretFiles(all, c.args as string[], (args) => parseArgs(args, { ...env, NODE_NAME: 'node-a' }));
        if (d.kind !== 'DaemonSet') {
          expect(config.cleanupConfig).toBe(true);
          continue;
        }
        expect(config.cleanupConfig).toBe(false);
        expect(config.cniConfPath).toBe('/etc/cni/net.d/10-kuberouter.conflist');
        // The probe and the ports point where the flags make the agent listen.
        expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: config.health!.port });
        const ports = Object.fromEntries((c.ports as Obj[]).map((p) => [p.name, p.containerPort]));
        expect(ports).toEqual({ bgp: config.bgpPort, metrics: config.metrics!.port, health: config.health!.port });
        expect(d.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(config.metrics!.port));
        // The CNI config it writes lands on the host, and the plugins it names get there too.
        const mounts = Object.fromEntries((c.volumeMounts as Obj[]).map((m) => [m.mountPath, m.name]));
        const hostPath = (name: string) => (spec.volumes as Obj[]).find((v) => v.name === name)!.hostPath?.path;
        expect(hostPath(mounts['/etc/cni/net.d']!)).toBe('/etc/cni/net.d');
        const init = (spec.initContainers as Obj[])[0]!;
        expect(hostPath((init.volumeMounts as Obj[])[0]!.name)).toBe('/opt/cni/bin');
        expect(init.command.join(' ')).toMatch(/\/usr\/lib\/cni\/bridge .*\/usr\/lib\/cni\/host-local .*\/usr\/lib\/cni\/portmap/);
      }
    });

    it('the ClusterRole grants exactly what the informers use, bound to the service account the pods run as', () => {
      const role = all.find((d) => d.kind === 'ClusterRole');
      if (!role) {
        expect(file).toBe('kube-router-ts-cleanup.yaml'); // --cleanup-config needs no API access
        return;
      }
      const granted = (role.rules as Obj[]).flatMap((r) =>
        (r.apiGroups as string[]).flatMap((g) =>
          (r.resources as string[]).map((res) => ({ apiGroup: g, resource: res, verbs: [...r.verbs].sort() })),
        ),
      );
      const ds = all.find((d) => d.kind === 'DaemonSet')!;
      const args = (ds.spec.template.spec.containers[0].args ?? []) as string[];
      const cfg = withSecretFiles(all, args, (a) => parseArgs(a, { NODE_NAME: 'node-a' }));
      const wanted = apiAccess({ firewall: cfg.runFirewall, loadBalancer: cfg.runLoadBalancer }).map((a) => ({
        apiGroup: a.apiGroup,
        resource: a.resource,
        verbs: [...a.verbs].sort(),
      }));
      const key = (x: { apiGroup: string; resource: string }) => `${x.apiGroup}/${x.resource}`;
      expect(granted.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(wanted.sort((a, b) => key(a).localeCompare(key(b))));
      const binding = all.find((d) => d.kind === 'ClusterRoleBinding')!;
      const sa = all.find((d) => d.kind === 'ServiceAccount')!;
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
      expect(ds.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    });
  });

  it('the ToR manifest mounts the password Secret where --peer-router-passwords-file reads it, in the form the flag takes', () => {
    const all = docs('kube-router-ts-tor-peering.yaml');
    const ds = all.find((d) => d.kind === 'DaemonSet')!;
    const secret = all.find((d) => d.kind === 'Secret')!;
    const c = ds.spec.template.spec.containers[0];
    const file = (c.args as string[]).find((a) => a.startsWith('--peer-router-passwords-file='))!.split('=')[1]!;
    const mount = (c.volumeMounts as Obj[]).find((m) => file.startsWith(`${m.mountPath}/`))!;
    const volume = (ds.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount.name)!;
    expect(volume.secret.secretName).toBe(secret.metadata.name);
    expect(Object.keys(secret.stringData)).toEqual([path.basename(file)]);
    const config = withSecretFiles(all, c.args as string[], (args) => parseArgs(args, { NODE_NAME: 'node-a' }));
    expect(config.peerRouters.map((p) => [p.address, p.asn, p.password])).toEqual([
      ['192.168.1.1', 64601, 'secret'],
      ['192.168.1.2', 64601, 'secret'],
    ]);
  });
});

describe('Dockerfile', () => {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  it('is multi-stage on Debian, and copies only what exists in the checkout or the build makes', () => {
    expect(text.match(/^FROM \S+/gm)).toEqual(['FROM node:20-bookworm', 'FROM node:20-bookworm-slim']);
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) expect(fs.existsSync(path.join(ROOT, src))).toBe(true);
    }
    for (const m of text.matchAll(/^COPY --from=build \/src\/(\S+) \S+$/gm)) expect(fs.existsSync(path.join(ROOT, m[1]!))).toBe(true);
    const entry = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(text)![1]!) as string[];
    expect(entry.at(-1)).toBe('/opt/kube-router-ts/dist/kube-router-ts.js');
    expect(fs.existsSync(path.join(ROOT, 'dist/kube-router-ts.js'))).toBe(true);
  });

  it('runs the agent with the environment the lab and the benchmarks give it', () => {
    const runtime = text.split(/^FROM /m)[2]!;
    const env = Object.fromEntries([...runtime.matchAll(/^ENV (\S+?)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(env).toEqual(AGENT_ENV);
    const entry = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(runtime)![1]!) as string[];
    expect(entry).toEqual(['node', ...AGENT_NODE_ARGS, '/opt/kube-router-ts/dist/kube-router-ts.js']);
  });

  it('installs Debian packages that exist, including the CNI plugins the init container copies', async () => {
    const runtime = text.split(/^FROM /m)[2]!;
    const pkgs = /install -y --no-install-recommends ([^\\&]+)/.exec(runtime.replace(/\\\n/g, ' '))![1]!.trim().split(/\s+/);
    expect(pkgs).toEqual(expect.arrayContaining(['iproute2', 'ipset', 'iptables', 'containernetworking-plugins']));
    for (const p of pkgs) expect((await run('apt-cache', ['show', '--no-all-versions', p], { allowFail: true })).code).toBe(0);
    // The gobgp CLI of kube-router's image comes with Debian's gobgpd (it reads --gobgp-admin-port).
    expect(pkgs).toContain('gobgpd');
    expect((await run('dpkg', ['-S', '/usr/bin/gobgp'])).stdout).toMatch(/^gobgpd: \/usr\/bin\/gobgp$/m);
    // Debian's containernetworking-plugins puts them where the init container looks.
    for (const plugin of ['bridge', 'host-local', 'portmap', 'loopback']) expect(fs.existsSync(`/usr/lib/cni/${plugin}`)).toBe(true);
  });
});
