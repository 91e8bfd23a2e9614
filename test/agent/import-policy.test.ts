/**
 * What the agent takes from its peers (kube-router's import policy) and how a refusal shows in
 * the speaker: the default route only when the operator asks for it, never a service IP, never
 * a custom-import-reject prefix; a refused path stays in Adj-RIB-In with its reason and is never
 * best, so it never reaches the kernel.
 */
import { importVerdict, internalPrefixLimit } from '../../src/agent/routing';
import { Speaker } from '../../bgp/speaker/speaker';
import { ribView } from '../../bgp/admin/views';
import { formatRib } from '../../bgp/admin/format';
import { ipv4Update } from '../helpers/updates';
import { establishFake } from '../helpers/fake-peer';

const inputs = { serviceIps: new Set(['10.96.0.10/32']), importReject: ['192.168.0.0/16'], acceptDefaultRoute: false };

describe('import policy', () => {
  it.each([
    ['0.0.0.0/0', 'default route (accepted only with --bgp-accept-default-route)'],
    ['::/0', 'default route (accepted only with --bgp-accept-default-route)'],
    ['10.96.0.10/32', 'a service IP of this cluster'],
    ['192.168.7.0/24', 'inside 192.168.0.0/16 (kube-router.io/node.bgp.customimportreject)'],
    ['10.244.2.0/24', true],
  ])('%s -> %s', (prefix, verdict) => expect(importVerdict(prefix, inputs)).toBe(verdict));

  it('--bgp-accept-default-route lets the default route in', () => {
    expect(importVerdict('0.0.0.0/0', { ...inputs, acceptDefaultRoute: true })).toBe(true);
  });

  it('a refused default route is kept with its reason, never best, and `bgp rib` says so', async () => {
    const speaker = new Speaker({
      asn: 64512,
      routerId: '10.0.0.11',
      listen: false,
      importPolicy: (prefix) => importVerdict(prefix, inputs),
    });
    speaker.addNeighbor({ address: '10.0.0.254', asn: 64513, passive: true });
    const t = establishFake(speaker, { address: '10.0.0.254', asn: 64513, families: ['ipv4-unicast'] });
    t.push(ipv4Update(['0.0.0.0/0', '10.244.9.0/24'], { asn: 64513, nextHop: '10.0.0.254' }));
    expect(speaker.rib.destination('0.0.0.0/0')?.best).toBeUndefined();
    expect(speaker.rib.destination('10.244.9.0/24')?.best).toBeDefined();
    const rib = ribView(speaker);
    expect(rib.find((p) => p.prefix === '0.0.0.0/0')).toMatchObject({
      accepted: false,
      best: false,
      rejectReason: 'rejected by import policy: default route (accepted only with --bgp-accept-default-route)',
    });
    expect(formatRib(rib)).toMatch(/0\.0\.0\.0\/0 .*\{Rejected: rejected by import policy: default route/);
    await speaker.stop();
  });

  it('`bgp rib` marks best paths the agent did not install, with the reason', () => {
    const speaker = new Speaker({ asn: 64512, routerId: '10.0.0.11', listen: false });
    speaker.addNeighbor({ address: '10.0.0.254', asn: 64513, passive: true });
    const t = establishFake(speaker, { address: '10.0.0.254', asn: 64513, families: ['ipv4-unicast'] });
    t.push(ipv4Update(['10.0.0.0/24', '10.244.9.0/24'], { asn: 64513, nextHop: '10.0.0.254' }));
    const fib = (prefix: string) =>
      prefix === '10.0.0.0/24'
        ? { installed: false as const, reason: "inside 10.0.0.0/24, a subnet on this node's interfaces" }
        : { installed: true as const };
    const rib = ribView(speaker, undefined, fib);
    expect(rib.find((p) => p.prefix === '10.0.0.0/24')?.fib).toEqual({
      installed: false,
      reason: "inside 10.0.0.0/24, a subnet on this node's interfaces",
    });
    expect(rib.find((p) => p.prefix === '10.244.9.0/24')?.fib).toEqual({ installed: true });
    expect(formatRib(rib)).toMatch(/10\.0\.0\.0\/24 .*\{NotInstalled: inside 10\.0\.0\.0\/24, a subnet on this node's interfaces\}/);
    void speaker.stop();
  });
});

describe('prefix limit between nodes', () => {
  it('is generous and grows with the cluster', () => {
    expect(internalPrefixLimit(3)).toBe(1000);
    expect(internalPrefixLimit(250)).toBe(1000);
    expect(internalPrefixLimit(5000)).toBe(20000);
  });
});
