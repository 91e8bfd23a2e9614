/** The CLI as users run it: exit codes and one-line errors, and gobgp-shaped output. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/util/exec';
import { CLI } from '../helpers/our-speaker';
import { Speaker } from '../../bgp/speaker/speaker';
import { startAdminServer } from '../../bgp/admin/server';
import { silentLogger } from '../../bgp/log';

const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { allowFail: true });

describe('kube-router-ts CLI', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-cli-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a bad speaker config with one line naming the field, exit status 2', async () => {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ routerId: '10.0.0.1', asn: 65000, neighbors: [{ address: '10.0.0.2', asn: 'x' }] }));
    const r = await cli('speaker', '--config', file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`kube-router-ts: ${file}: neighbors[0].asn: Expected number, received string`]);
  });

  it('refuses a config that is not JSON', async () => {
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, '{ "routerId": ');
    const r = await cli('speaker', '--config', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not valid JSON/);
  });

  it('refuses unknown commands and bad flag values', async () => {
    expect((await cli('bogus')).code).toBe(2);
    const r = await cli('bgp', 'rib', '--family', 'ipv7-unicast');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/family/);
  });

  it('the single-file bundle (what the VM and an image run) is the same program', async () => {
    const bundle = path.resolve(CLI, '../../../kube-router-ts.js');
    const r = await run(process.execPath, [bundle, '--cluster-asn', 'x'], { allowFail: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('kube-router-ts: --cluster-asn: "x" is not an AS number (1-4294967295)\n');
    expect((await run(process.execPath, [bundle, 'lab', '--help'])).stdout).toMatch(/lab up/);
  });

  it('--version and --help load neither the agent nor the Kubernetes client, nor any BGP code', async () => {
    // Every module the program requires, recorded by a preloaded hook (the tsc output: one file per module).
    const hook = path.join(dir, 'record-requires.js');
    fs.writeFileSync(
      hook,
      `const M = require('module'); const load = M._load; const seen = [];
       M._load = function (req, parent) { seen.push(req + ' <- ' + (parent && parent.filename)); return load.apply(this, arguments); };
       process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(path.join(dir, 'requires.txt'))}, seen.join('\\n')));`,
    );
    for (const args of [['--version'], ['--help'], ['speaker', '--help'], ['bgp', '--help']]) {
      const out = path.join(dir, 'requires.txt');
      const r = await run(process.execPath, ['--require', hook, CLI, ...args]);
      expect(r.stdout.length).toBeGreaterThan(0);
      const loaded = fs.readFileSync(out, 'utf8');
      expect(loaded).toMatch(/yargs/);
      expect(loaded).not.toMatch(/@kubernetes|run-agent|run-speaker|agent\/agent|controllers\/|\.\.\/\.\.\/bgp|pino|zod/);
    }
  });

  it('the bundle leaves out what the agent never runs: generated API models, node-fetch, a second js-yaml', () => {
    const text = fs.readFileSync(path.resolve(CLI, '../../../kube-router-ts.js'), 'utf8');
    // Class names of client-node's generated models and node-fetch's URL stack, present whenever those are bundled.
    for (const absent of ['V1PersistentVolumeClaimSpec', 'CoreV1ApiRequestFactory', 'whatwg-url', 'tr46'])
      expect(text.includes(absent)).toBe(false);
    expect(text.match(/function loadDocuments\b/g)).toHaveLength(1);
    // ASCII only: V8 keeps the source of a file with one non-ASCII character as two bytes per character.
    expect(/[^\t\n\r -~]/.test(text)).toBe(false);
    // The kubeconfig loader and credential plugins are there.
    expect(text).toMatch(/loadFromCluster/);
  });

  it("the bundle loads netlink's sockets and rtnetlink, never its Wi-Fi and WireGuard modules", async () => {
    const text = fs.readFileSync(path.resolve(CLI, '../../../kube-router-ts.js'), 'utf8');
    const required = [...new Set(text.match(/require\("netlink[^"]*"\)/g))].sort();
    expect(required).toEqual(['require("netlink/dist/netlink")', 'require("netlink/dist/rt/rt")']);
    // What those two load, as the agent's process loads them (the package index would add nl80211 and wg).
    const probe = `${required.join(';')};console.log(Object.keys(require.cache).filter((f)=>f.includes('/netlink/dist/')).join('\\n'))`;
    const loaded = (await run(process.execPath, ['-e', probe], { cwd: path.resolve(CLI, '../../../..') })).stdout;
    expect(loaded).toMatch(/netlink\/dist\/rt\/rt\.js/);
    expect(loaded).not.toMatch(/nl80211|\/wg\/|\/genl\/|dist\/index\.js/);
  });

  it('the bundle is minified, names kept, with a source map back to the TypeScript sources', () => {
    const file = path.resolve(CLI, '../../../kube-router-ts.js');
    const text = fs.readFileSync(file, 'utf8');
    // V8 holds the whole source for the life of the process: 2.0 MB unminified, 1.3 minified.
    expect(text.length).toBeLessThan(1_600_000);
    expect(text.split('\n').filter((l) => l.startsWith('  ')).length).toBeLessThan(200);
    // Names stay: they are what logs and stack traces show.
    expect(text.includes('Rib=class extends')).toBe(true);
    expect(text.trimEnd().endsWith('//# sourceMappingURL=kube-router-ts.js.map')).toBe(true);
    const map = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as { sources: string[]; mappings: string };
    expect(map.sources).toContain('../src/cli/main.ts');
    expect(map.mappings.length).toBeGreaterThan(100000);
  });

  it('says how to fix a missing admin socket', async () => {
    const r = await cli('bgp', 'neighbors', '--socket', path.join(dir, 'none.sock'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is the speaker running/);
  });

  it('says why when an agent has no speaker running (its node has not joined yet)', async () => {
    const socket = path.join(dir, 'agent.sock');
    const server = await startAdminServer(() => undefined, socket, silentLogger, { '/agent/status': () => ({ ready: false }) });
    try {
      const r = await cli('bgp', 'neighbors', '--socket', socket);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/BGP speaker is not running \(no Node object for this node yet/);
    } finally {
      server.close();
    }
  });

  it('never deletes what is not a socket at the admin socket path', async () => {
    const file = path.join(dir, 'precious.txt');
    fs.writeFileSync(file, 'operator data');
    await expect(startAdminServer(() => undefined, file, silentLogger)).rejects.toThrow(
      /exists and is not a socket; refusing to replace it/,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('operator data');
    // A stale socket left by an earlier run (bound, never removed) is replaced.
    const socket = path.join(dir, 'stale.sock');
    await run('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', socket]);
    expect(fs.lstatSync(socket).isSocket()).toBe(true);
    const server = await startAdminServer(() => undefined, socket, silentLogger);
    server.close();
  });

  it('prints neighbors, global and the RIB like gobgp', async () => {
    const speaker = new Speaker({ asn: 64512, routerId: '192.168.50.50', listen: false, log: silentLogger });
    speaker.addNeighbor({ address: '192.168.50.51', asn: 64512 });
    speaker.originate('10.233.64.0/24');
    const socket = path.join(dir, 'admin.sock');
    const server = await startAdminServer(speaker, socket, silentLogger);
    try {
      const n = await cli('bgp', 'neighbors', '--socket', socket);
      expect(n.stdout.split('\n')[0]).toMatch(/^Peer\s+AS\s+Up\/Down\s+State\s+\|#Received\s+Accepted/);
      expect(n.stdout).toMatch(/192\.168\.50\.51\s+64512\s+\d\d:\d\d:\d\d\s+(Connect|Active|Idle)/);
      const g = await cli('bgp', 'global', '--socket', socket);
      expect(g.stdout).toMatch(/AS:\s+64512\nRouter-ID: 192\.168\.50\.50/);
      const rib = await cli('bgp', 'rib', '--socket', socket);
      expect(rib.stdout).toMatch(/Network\s+Next Hop\s+AS_PATH\s+Age\s+Attrs/);
      expect(rib.stdout).toMatch(/\*> 10\.233\.64\.0\/24\s+self\s+\d\d:\d\d:\d\d\s+\[\{Origin: i\}\]/);
      const json = JSON.parse((await cli('bgp', 'rib', '--json', '--family', 'ipv4-unicast', '--socket', socket)).stdout);
      expect(json).toEqual([expect.objectContaining({ prefix: '10.233.64.0/24', best: true, source: 'local' })]);
    } finally {
      server.close();
      await speaker.stop();
    }
  });
});
