/**
 * Leader election through a Lease, against the lab's API server on loopback (the real HTTP
 * protocol, resourceVersion conflicts included), with short timings: never two leaders, a
 * released Lease taken over at once, a crashed leader's Lease only after it expired, and a
 * candidate whose clock runs an hour ahead does not steal a Lease that is being renewed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { ApiServer } from '../../lab/apiserver/server';
import { RESOURCES } from '../../lab/apiserver/resources';
import { makeApiCredentials, renderKubeconfig } from '../../lab/apiserver/tls';
import { LeaseElector, type LeaseTimings } from '../../src/agent/lease';
import { silentLogger } from '../../bgp';
import { until, sleep } from '../../lab/wait';

jest.setTimeout(60000);

const T: LeaseTimings = { leaseMs: 2000, renewDeadlineMs: 1500, retryMs: 200 };

describe('Lease leader election', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-lease-'));
  let server: ApiServer;
  let kc: KubeConfig;
  const electors: LeaseElector[] = [];
  const make = (id: string, now?: () => number): LeaseElector => {
    const e = new LeaseElector(kc, 'kube-system', 'test-lease', id, silentLogger, () => undefined, T, now);
    electors.push(e);
    return e;
  };
  const leaders = () => electors.filter((e) => e.isLeader).map((e) => e.identity);

  beforeAll(async () => {
    const creds = await makeApiCredentials(dir, ['127.0.0.1']);
    server = new ApiServer({ token: fs.readFileSync(creds.tokenFile, 'utf8') });
    await server.listenTls('127.0.0.1', 0, fs.readFileSync(creds.serverCert), fs.readFileSync(creds.serverKey));
    const file = path.join(dir, 'kubeconfig');
    fs.writeFileSync(file, renderKubeconfig(`https://127.0.0.1:${server.port}`, creds.caCert, fs.readFileSync(creds.tokenFile, 'utf8')));
    kc = new KubeConfig();
    kc.loadFromFile(file);
  });
  afterAll(async () => {
    for (const e of electors) await e.stop(false);
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('one leader among three at any time; a released Lease goes to another at once, a crashed one after it expires', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map((id) => make(id));
    for (const e of [a!, b!, c!]) e.start();
    await until(async () => leaders().length === 1, 10000, 'a leader');
    for (let i = 0; i < 20; i++) {
      expect(leaders()).toHaveLength(1);
      await sleep(100);
    }
    const first = electors.find((e) => e.isLeader)!;
    const released = Date.now();
    await first.stop();
    await until(async () => leaders().length === 1, 5000, 'a new leader after the release');
    expect(Date.now() - released).toBeLessThan(T.leaseMs);
    const second = electors.find((e) => e.isLeader)!;
    expect(second).not.toBe(first);

    const crashed = Date.now();
    await second.stop(false);
    await until(async () => leaders().length === 1, 10000, 'a new leader after the crash');
    // Not before the Lease ran out (judged from when the survivor last saw it renewed).
    expect(Date.now() - crashed).toBeGreaterThanOrEqual(T.leaseMs - 2 * T.retryMs);
    const third = electors.find((e) => e.isLeader)!;
    expect([first, second]).not.toContain(third);
    const lease = server.store.get(
      RESOURCES.find((r) => r.plural === 'leases')!,
      'kube-system',
      'test-lease',
    ) as unknown as { spec: { holderIdentity: string; leaseTransitions: number; leaseDurationSeconds: number } };
    expect(lease.spec.holderIdentity).toBe(third.identity);
    expect(lease.spec.leaseTransitions).toBe(2);
    expect(lease.spec.leaseDurationSeconds).toBe(2);
    await third.stop();
  });

  it('a candidate an hour ahead does not take a Lease that is being renewed', async () => {
    const holder = make('holder');
    holder.start();
    await until(async () => holder.isLeader, 5000, 'holder to lead');
    const skewed = make('skewed', () => Date.now() + 3600_000);
    skewed.start();
    await sleep(3 * T.leaseMs);
    expect(skewed.isLeader).toBe(false);
    expect(holder.isLeader).toBe(true);
    await holder.stop();
    await until(async () => skewed.isLeader, 5000, 'the skewed candidate to lead once released');
    await skewed.stop();
  });
});
