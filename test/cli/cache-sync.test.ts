/**
 * --cache-sync-timeout, as kube-router: an agent whose informers have not listed by then exits
 * non-zero (its pod restarts), unless it runs from a saved state, which it keeps doing. The agent
 * runs in a namespace of its own against a kubeconfig whose server does not answer. (The second
 * agent also shows --enable-pprof's port; the third runs on with its GoBGP API port taken.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Netns } from '../../lab/netns';
import { until } from '../../lab/wait';
import { CLI } from '../helpers/our-speaker';
import { TEST_NETNS_PREFIX } from '../helpers/topology';
import { AGENT_ENV, AGENT_NODE_ARGS } from '../../src/agent/process-env';

/** The real `ip`, which the hung one below hands every other command to. */
const IP = fs.existsSync('/usr/sbin/ip') ? '/usr/sbin/ip' : '/sbin/ip';

describe('--cache-sync-timeout', () => {
  let ns: Netns;
  let dir: string;
  const args = (): string[] => [
    CLI,
    `--kubeconfig=${path.join(dir, 'kubeconfig')}`,
    '--hostname-override=n1',
    '--cache-sync-timeout=2s',
    `--admin-socket=${path.join(dir, 'admin.sock')}`,
    `--state-file=${path.join(dir, 'state.json')}`,
    `--cni-conf-path=${path.join(dir, '10-kuberouter.conflist')}`,
  ];

  beforeAll(async () => {
    ns = await Netns.create(`${TEST_NETNS_PREFIX}cst`);
    await ns.ip('link', 'set', 'lo', 'up');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krtt-cst-'));
    // Nothing listens on port 1 of the namespace's loopback: every list fails at once, again and again.
    fs.writeFileSync(
      path.join(dir, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await ns?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a saved state the agent exits 1 once the timeout passes, saying which informers had not listed', async () => {
    const started = Date.now();
    // With the image's environment and node options: no word about them.
    const r = await ns.exec(process.execPath, [...AGENT_NODE_ARGS, ...args()], { allowFail: true, env: { ...process.env, ...AGENT_ENV } });
    const output = r.stdout + r.stderr;
    expect(r.code).toBe(1);
    expect(output).toMatch(/informers not listed within --cache-sync-timeout \(2 s\): nodes, services, endpointslices, pods[^"]*; exiting/);
    expect(Date.now() - started).toBeLessThan(30000);
    expect(output).not.toMatch(/memory settings/);
  });

  it("a DaemonSet's own NODE_OPTIONS replaces the image's: the agent says, once, which setting it runs without", async () => {
    const env = { ...process.env, ...AGENT_ENV, NODE_OPTIONS: '--max-old-space-size=512' };
    const r = await ns.exec(process.execPath, [...AGENT_NODE_ARGS, ...args()], { allowFail: true, env });
    expect(r.code).toBe(1);
    const warnings = (r.stdout + r.stderr).split('\n').filter((l) => l.includes("the image's memory settings"));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, missing: ['NODE_OPTIONS --max-semi-space-size=4'] });
  });

  it("the bundle (what the image runs) loads neither Node's fetch stack (undici: 12 MiB of an idle process) nor the inspector", async () => {
    // The agent talks to the API server through node:https; client-node's kubeconfig loader names
    // Headers, which the bundle's stand-in reaches only when called (scripts/node-fetch-headers.mjs).
    const hook = path.join(dir, 'module-list.js');
    const list = path.join(dir, 'modules.txt');
    fs.writeFileSync(
      hook,
      `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));`,
    );
    const bundle = path.resolve(CLI, '../../../kube-router-ts.js');
    const r = await ns.exec(process.execPath, ['--require', hook, bundle, ...args().slice(1)], { allowFail: true });
    expect(r.code).toBe(1);
    const modules = fs.readFileSync(list, 'utf8');
    expect(modules).toMatch(/NativeModule https/);
    expect(modules).not.toMatch(/undici/);
    // The inspector serves --enable-pprof's profiles only.
    expect(modules).not.toMatch(/NativeModule inspector/);
  });

  it('with a saved state it keeps running past the timeout, from that state, and says so', async () => {
    const local = {
      name: 'n1',
      ipv4: '10.9.0.1',
      podCidrs: ['10.244.9.0/24'],
      communities: [],
      peers: [],
      localAddresses: [],
      importReject: [],
    };
    const state = {
      version: 1,
      node: 'n1',
      savedAt: Date.now(),
      nodes: { local, nodes: [local], internalPeers: [], podSubnets: ['10.244.9.0/24'], nodeIps: ['10.9.0.1'] },
      vips: [],
      serviceIps: [],
    };
    fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state));
    const log = path.join(dir, 'agent.log');
    // --enable-pprof rides along: the agent serves its V8 profiles on port 6060 of its namespace.
    const child = ns.spawn(process.execPath, [...args(), '--enable-pprof'], { logFile: log });
    try {
      const read = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
      await until(async () => read().includes('running from the saved state meanwhile'), 30000, 'the warning');
      await new Promise((r) => setTimeout(r, 2000));
      expect(child.exitCode).toBeNull();
      expect(read()).not.toMatch(/exiting/);
      const index = await ns.exec('curl', ['-s', 'http://127.0.0.1:6060/debug/pprof/'], { allowFail: true });
      expect(index.stdout).toContain('/debug/pprof/profile?seconds=N');
    } finally {
      child.kill('SIGTERM');
      await until(async () => child.exitCode !== null || child.signalCode !== null, 10000, 'the agent to stop');
    }
  });

  it('a shutdown step that hangs (here `ip fou show` never returns): the agent exits 8 s after SIGTERM and says which step', async () => {
    // The saved state of the test above makes the agent reconcile; with its node address here the
    // speaker starts and the routes loop runs `ip fou show`, which this `ip` never answers.
    expect(fs.existsSync(path.join(dir, 'state.json'))).toBe(true);
    const bin = path.join(dir, 'hung-bin');
    const called = path.join(dir, 'fou-called');
    fs.mkdirSync(bin, { recursive: true });
    // An odd duration lets the test find and kill the sleeper the agent leaves behind.
    const ip = ['#!/bin/sh', `[ "$1 $2" = "fou show" ] && { touch ${called}; exec sleep 299.5; }`, `exec ${IP} "$@"`, ''];
    fs.writeFileSync(path.join(bin, 'ip'), ip.join('\n'), { mode: 0o755 });
    await ns.ip('addr', 'add', '10.9.0.1/32', 'dev', 'lo');
    const log = path.join(dir, 'agent-hung.log');
    const child = ns.spawn(process.execPath, args(), { logFile: log, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    try {
      await until(async () => fs.existsSync(called), 30000, 'the agent to run `ip fou show`');
      const signalled = Date.now();
      child.kill('SIGTERM');
      await until(async () => child.exitCode !== null || child.signalCode !== null, 15000, 'the agent to exit');
      const took = Date.now() - signalled;
      expect(took).toBeGreaterThanOrEqual(7500);
      expect(took).toBeLessThan(12000);
      expect(child.exitCode).toBe(1);
      const said = fs
        .readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.includes('stopping took longer than 8 s'));
      expect(said).toHaveLength(1);
      expect(JSON.parse(said[0]!)).toMatchObject({ level: 50, event: 'stop', step: 'waiting for the routes run in progress' });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await ns.exec('pkill', ['-f', 'sleep 299.5'], { allowFail: true });
      await ns.ip('addr', 'del', '10.9.0.1/32', 'dev', 'lo');
    }
  });

  it('a --gobgp-admin-port someone else holds: the agent says so once and runs on without the GoBGP API', async () => {
    // The saved state of the test above keeps this agent running past the cache-sync timeout.
    expect(fs.existsSync(path.join(dir, 'state.json'))).toBe(true);
    const holder = ns.spawn(process.execPath, ['-e', "require('net').createServer().listen(50051, '127.0.0.1')"]);
    const log = path.join(dir, 'agent-gobgp.log');
    let child: ReturnType<Netns['spawn']> | undefined;
    try {
      await until(async () => (await ns.exec('ss', ['-Hltn', 'sport = :50051'])).stdout.includes('127.0.0.1:50051'), 30000, 'the holder');
      child = ns.spawn(process.execPath, args(), { logFile: log });
      const read = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
      await until(async () => read().includes('running from the saved state meanwhile'), 30000, 'the agent to run on');
      await new Promise((r) => setTimeout(r, 2000));
      expect(child.exitCode).toBeNull();
      const said = read()
        .split('\n')
        .filter((l) => l.includes("GoBGP's gRPC API not started"));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain('EADDRINUSE');
      expect(said[0]).toContain('the agent runs on without it');
    } finally {
      child?.kill('SIGTERM');
      if (child) await until(async () => child!.exitCode !== null || child!.signalCode !== null, 10000, 'the agent to stop');
      holder.kill('SIGKILL');
    }
  });
});
