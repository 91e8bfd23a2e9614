/**
 * The state an agent keeps on the node for a restart without the API server: written whole or
 * not at all, read back only for the same node and version, anything else ignored with a reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadLastState, saveLastState } from '../../src/agent/last-state';

describe('last state', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-state-'));
  const file = path.join(dir, 'sub', 'state.json');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const nodes = {
    local: {
      name: 'node1',
      ipv4: '10.0.0.11',
      podCidrs: ['10.244.1.0/24'],
      communities: [],
      peers: [],
      localAddresses: [],
      importReject: [],
    },
    nodes: [{ name: 'node1', ipv4: '10.0.0.11', podCidrs: ['10.244.1.0/24'] }],
    internalPeers: [{ node: 'node2', address: '10.0.0.12', asn: 64512, rrClient: false }],
    podSubnets: ['10.244.1.0/24'],
    nodeIps: ['10.0.0.11'],
  };

  it('round-trips, atomically (no temporary file left)', () => {
    saveLastState(file, { node: 'node1', nodes, vips: [], serviceIps: ['10.96.0.10/32'] });
    const r = loadLastState(file, 'node1');
    expect('state' in r && r.state).toMatchObject({ node: 'node1', nodes, serviceIps: ['10.96.0.10/32'] });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['state.json']);
  });

  it.each([
    ['another node', () => undefined, 'node2', /is for node "node1"/],
    ['garbage', () => fs.writeFileSync(file, '{not json'), 'node1', /is unreadable/],
    ['another version', () => fs.writeFileSync(file, JSON.stringify({ version: 99 })), 'node1', /has version 99/],
    ['missing fields', () => fs.writeFileSync(file, JSON.stringify({ version: 1, node: 'node1', nodes: {} })), 'node1', /is incomplete/],
    ['no file', () => fs.rmSync(file), 'node1', /no .*state\.json/],
  ])('ignores %s with a reason', (_what, prepare, node, why) => {
    prepare();
    const r = loadLastState(file, node);
    expect('missing' in r && r.missing).toMatch(why);
  });
});
