/**
 * The bundle evaluates client-node's proxy agents (hpagent, socks-proxy-agent) and the gcp/azure
 * token helpers' JSONPath only when a kubeconfig needs them (scripts/lazy/: 0.6 MiB of heap in
 * every idle agent otherwise). Here each is needed once, through the bundle the image runs: the
 * agent, in a namespace of its own, must reach a recorder as the kubeconfig says.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Netns } from '../../lab/netns';
import { until } from '../../lab/wait';
import { CLI } from '../helpers/our-speaker';
import { TEST_NETNS_PREFIX } from '../helpers/topology';

const BUNDLE = path.resolve(CLI, '../../../kube-router-ts.js');

/** Records what reaches it, one line each: a proxy's CONNECT, a SOCKS greeting, a plain request's credentials. */
const RECORDER = `
const fs = require('fs'), http = require('http'), net = require('net');
const log = (line) => fs.appendFileSync(process.argv[1], line + '\\n');
http.createServer().on('connect', (req, socket) => { log('CONNECT ' + req.url); socket.destroy(); }).listen(8001, '127.0.0.1');
net.createServer((s) => s.once('data', (b) => { log('SOCKS ' + b.subarray(0, 1).toString('hex')); s.destroy(); })).listen(8002, '127.0.0.1');
http.createServer((req, res) => { log('GET ' + req.url.split('?')[0] + ' ' + req.headers.authorization); res.writeHead(500).end(); }).listen(8003, '127.0.0.1');
log('ready');
`;

describe('the bundle loads proxy agents and token helpers when a kubeconfig needs them', () => {
  let ns: Netns;
  let dir: string;
  let recorder: ChildProcess;
  const record = (): string => fs.readFileSync(path.join(dir, 'record.log'), 'utf8');

  /** Runs the bundle against a kubeconfig with this cluster and user until it gives up (2 s). */
  const agent = async (cluster: string, user: string): Promise<void> => {
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: c, cluster: ${cluster}}]`,
        `users: [{name: u, user: ${user}}]`,
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
        '',
      ].join('\n'),
    );
    const r = await ns.exec(
      process.execPath,
      [
        BUNDLE,
        `--kubeconfig=${kubeconfig}`,
        '--hostname-override=n1',
        '--cache-sync-timeout=2s',
        `--admin-socket=${path.join(dir, 'admin.sock')}`,
        `--state-file=${path.join(dir, 'state.json')}`,
        `--cni-conf-path=${path.join(dir, '10-kuberouter.conflist')}`,
      ],
      { allowFail: true },
    );
    // It gives up as an agent whose informers never listed does (the recorder answers nothing useful).
    expect(r.stdout + r.stderr).toMatch(/informers not listed within --cache-sync-timeout/);
  };

  beforeAll(async () => {
    ns = await Netns.create(`${TEST_NETNS_PREFIX}lazy`);
    await ns.ip('link', 'set', 'lo', 'up');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krtt-lazy-'));
    fs.writeFileSync(path.join(dir, 'record.log'), '');
    recorder = ns.spawn(process.execPath, ['-e', RECORDER, path.join(dir, 'record.log')], { logFile: path.join(dir, 'recorder.log') });
    await until(() => record().includes('ready'), 10000, 'the recorder');
  });

  afterAll(async () => {
    recorder?.kill('SIGKILL');
    await ns?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an https server behind an http proxy-url: the agent asks the proxy for a tunnel (hpagent)', async () => {
    await agent('{server: "https://127.0.0.1:1", proxy-url: "http://127.0.0.1:8001", insecure-skip-tls-verify: true}', '{token: t}');
    expect(record()).toMatch(/^CONNECT 127\.0\.0\.1:1$/m);
  });

  it('a socks5 proxy-url: the agent greets the proxy in SOCKS version 5 (socks-proxy-agent)', async () => {
    await agent('{server: "https://127.0.0.1:1", proxy-url: "socks5://127.0.0.1:8002", insecure-skip-tls-verify: true}', '{token: t}');
    expect(record()).toMatch(/^SOCKS 05$/m);
  });

  it("a gcp auth-provider: the token read from its helper's output with the kubeconfig's token-key (jsonpath-plus)", async () => {
    const helper = path.join(dir, 'token-helper');
    fs.writeFileSync(
      helper,
      '#!/bin/sh\necho \'{"credential": {"access_token": "from-helper", "token_expiry": "2099-01-01T00:00:00Z"}}\'\n',
      { mode: 0o755 },
    );
    await agent(
      '{server: "http://127.0.0.1:8003", insecure-skip-tls-verify: true}',
      `{auth-provider: {name: gcp, config: {cmd-path: "${helper}", token-key: "{.credential.access_token}", expiry-key: "{.credential.token_expiry}"}}}`,
    );
    expect(record()).toMatch(/^GET \/api\/v1\/\S+ Bearer from-helper$/m);
  });
});
