/**
 * Rollouts that lose nothing (RFC 4724 graceful restart, on in the lab as in our manifests):
 * `lab restart` stops and starts every agent one node at a time, as a DaemonSet rollout does,
 * while a pod pings a pod on another node every 10 ms. Stopping closes the BGP sessions without
 * a NOTIFICATION and leaves the kernel routes; the peers (other agents, the ToR's BIRD) keep
 * the node's routes as stale until it is back; not one packet may be lost.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { Lab } from '../../lab/cluster';
import { continuousPing, labCli, labDown, labUp } from '../helpers/lab';
import { TEST_NETNS_PREFIX } from '../helpers/topology';

jest.setTimeout(300000);

const PREFIX = `${TEST_NETNS_PREFIX}ro-`;
const DIR = '/run/kube-router-ts/test-rollout';

async function pingAcrossRestart(lab: Lab, from: string, to: string): Promise<{ sent: number; received: number; seconds: number }> {
  const src = lab.state.pods.find((p) => p.name === from)!;
  const dst = lab.state.pods.find((p) => p.name === to)!;
  const logDir = fs.mkdtempSync('/tmp/krt-ping-');
  const log = path.join(logDir, 'ping.log');
  const ping = continuousPing(lab, src.netns, dst.ip!, log);
  let stopped = false;
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    const restart = await labCli('lab', 'restart', `--dir=${DIR}`);
    const seconds = (Date.now() - t0) / 1000;
    if (restart.code !== 0) throw new Error(`lab restart failed: ${restart.stderr}${restart.stdout}`);
    expect(restart.stdout).toMatch(/rollout took [\d.]+ s/);
    await new Promise((r) => setTimeout(r, 1000));
    const counts = await ping.stop();
    stopped = true;
    process.stdout.write(
      `\n[rollout] ${lab.state.nodes.length} agents rolled in ${seconds.toFixed(1)} s; ${from} -> ${to}: ${counts.sent} pings, ${counts.sent - counts.received} lost\n`,
    );
    return { ...counts, seconds };
  } finally {
    if (!stopped) await ping.stop().catch(() => undefined);
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

/** What the agents logged about stopping: graceful, never a Cease. */
function stopLines(lab: Lab): string[] {
  return lab.state.nodes.flatMap((n) =>
    fs
      .readFileSync(path.join(n.dir, 'agent.log'), 'utf8')
      .split('\n')
      .filter((l) => /"msg":"stopping/.test(l)),
  );
}

describe('lab: rollouts with graceful restart lose no packet', () => {
  afterEach(() => labDown(DIR, PREFIX));

  it('(a) pods on one subnet: node1-pod1 -> node2-pod1 across a rolling restart of 3 agents', async () => {
    const { lab } = await labUp(DIR, PREFIX, ['--nodes', '3', '--pods', '1']);
    const r = await pingAcrossRestart(lab, 'node1-pod1', 'node2-pod1');
    expect(r.sent).toBeGreaterThan(100);
    expect(r.sent - r.received).toBe(0);
    const lines = stopLines(lab);
    // Per agent: the agent's line and the speaker's, both saying no NOTIFICATION went out.
    expect(lines.length).toBe(6);
    for (const l of lines) expect(l).toMatch(/without NOTIFICATION/);
  });

  it('(b) across the ToR (two subnets, overlay off, BIRD as helper): node1-pod1 -> node2-pod1', async () => {
    const { lab } = await labUp(DIR, PREFIX, ['--nodes', '2', '--subnets', '2', '--pods', '1', '--tor', '--enable-overlay=false']);
    expect(lab.state.nodes.map((n) => n.subnet)).toEqual([1, 2]);
    const r = await pingAcrossRestart(lab, 'node1-pod1', 'node2-pod1');
    expect(r.sent).toBeGreaterThan(100);
    expect(r.sent - r.received).toBe(0);
    // BIRD kept the restarting nodes' routes and took them back: both sessions up again.
    const protocols = await lab.birdc('show', 'protocols');
    expect(protocols.match(/Established/g)?.length).toBe(2);
  });
});
