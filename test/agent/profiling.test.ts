/**
 * --enable-pprof: the V8 profiles served on the profiling port, taken from this very process
 * (a port of the loopback here instead of 0.0.0.0:6060).
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEndpoints } from '../../src/agent/endpoints';
import { profilingEndpoints } from '../../src/agent/profiling';
import { silentLogger } from '../../bgp';

describe('profiling endpoints (--enable-pprof)', () => {
  let servers: http.Server[] = [];
  let base = '';
  beforeAll(async () => {
    servers = await startEndpoints(profilingEndpoints(0, '127.0.0.1'), silentLogger);
    base = `http://127.0.0.1:${(servers[0]!.address() as AddressInfo).port}/debug/pprof`;
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it('lists what it serves', async () => {
    const r = await fetch(`${base}/`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('/debug/pprof/profile?seconds=N');
  });

  it('a CPU profile over the seconds asked, while another waits its turn', async () => {
    const burn = setInterval(() => {
      let x = 0;
      for (let i = 0; i < 1e5; i++) x += Math.sqrt(i);
      return x;
    }, 5);
    try {
      // Three seconds, and the second asked one second in: the first has surely started, even on
      // a machine busy with two emulated VMs (100 ms was not always enough in the full suite).
      const first = fetch(`${base}/profile?seconds=3`);
      await new Promise((r) => setTimeout(r, 1000));
      const second = await fetch(`${base}/heap?seconds=1`);
      expect(second.status).toBe(409);
      const r = await first;
      expect(r.status).toBe(200);
      const profile = (await r.json()) as { nodes: unknown[]; samples: number[]; startTime: number; endTime: number };
      expect(profile.nodes.length).toBeGreaterThan(1);
      expect(profile.samples.length).toBeGreaterThan(0);
      expect(profile.endTime - profile.startTime).toBeGreaterThanOrEqual(2_900_000); // microseconds
    } finally {
      clearInterval(burn);
    }
  });

  it('sampled allocations; no heap snapshot (it would hold secrets)', async () => {
    const heap = await fetch(`${base}/heap?seconds=1`);
    expect(heap.status).toBe(200);
    expect(((await heap.json()) as { head: { callFrame: unknown } }).head.callFrame).toBeDefined();
    expect((await fetch(`${base}/heapsnapshot`)).status).toBe(404);
  });

  it('refuses seconds it cannot take', async () => {
    for (const bad of ['0', '301', 'soon', '1.5']) {
      const r = await fetch(`${base}/profile?seconds=${bad}`);
      expect(r.status).toBe(400);
      expect(await r.text()).toMatch(/seconds must be a whole number from 1 to 300/);
    }
  });
});
