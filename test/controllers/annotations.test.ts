import {
  parseCommunities,
  parsePeersYaml,
  parseLegacyPeers,
  parseClusterId,
  parseBool,
  parsePassword,
  MAX_COMMUNITIES,
} from '../../controllers/annotations';
import { computeNodes, MAX_ANNOTATION_LENGTH } from '../../controllers/nodes';
import { Problems } from '../../controllers/problems';
import { buildAnnouncements } from '../../bgp/speaker/update-builder';
import { prepend } from '../../bgp/rib/as-path';

describe('kube-router annotations', () => {
  it('reads communities as numbers, a:b pairs and well-known names', () => {
    expect(parseCommunities('4294967041')).toEqual({ ok: true, value: [4294967041] });
    expect(parseCommunities('65535:65281, no-export')).toEqual({ ok: true, value: [0xffffff01, 0xffffff01] });
    expect(parseCommunities('65536:1')).toMatchObject({ ok: false });
    expect(parseCommunities('banana')).toMatchObject({ ok: false, error: expect.stringMatching(/banana/) });
  });

  it('refuses more communities than fit in an UPDATE, at parse time (once seen to crash-loop the agent)', () => {
    const many = (n: number): string => Array.from({ length: n }, (_, i) => `65000:${i}`).join(',');
    expect(parseCommunities(many(1100))).toMatchObject({ ok: false, error: expect.stringMatching(/1100 communities; at most 500/) });
    const max = parseCommunities(many(MAX_COMMUNITIES));
    expect(max.ok).toBe(true);
    // The largest route we could export with them still fits: IPv6 /128 with a link-local next
    // hop, 4-octet ASNs prepended 64 times toward a 2-octet-AS peer (AS_PATH and AS4_PATH), MED, LOCAL_PREF.
    const asPath = prepend(prepend([], 4200000000, 64), 4200000001);
    const attrs = {
      origin: 0,
      asPath,
      nextHop: 'fd00::1',
      linkLocalNextHop: 'fe80::1',
      med: 1,
      localPref: 100,
      communities: max.ok ? max.value : [],
    };
    const [msg] = buildAnnouncements('ipv6-unicast', attrs, ['fd00:1:2:3:4:5:6:7/128'], { as4: false });
    expect(msg!.length).toBeLessThan(4096);
  });

  it('a Node with an oversized or garbage communities annotation keeps its other state; the problem is logged once', () => {
    const warnings: string[] = [];
    const problems = new Problems({ warn: (_o, msg) => warnings.push(msg ?? '') });
    const node = (communities: string) => ({
      metadata: {
        name: 'n1',
        annotations: {
          'kube-router.io/node.bgp.communities': communities,
          'kube-router.io/path-prepend.as': '65000',
          'kube-router.io/path-prepend.repeat-n': '2',
        },
      },
      spec: { podCIDR: '10.244.1.0/24' },
      status: { addresses: [{ type: 'InternalIP', address: '10.0.0.11' }] },
    });
    const opts = { nodeName: 'n1', clusterAsn: 64512, fullMesh: true, enableIbgp: true, ipv4: true, ipv6: false };
    const huge = Array.from({ length: 1100 }, (_, i) => `65000:${i}`).join(',');
    for (let i = 0; i < 3; i++) {
      const d = computeNodes([node(huge)], opts, problems);
      expect(d.local).toMatchObject({ podCidrs: ['10.244.1.0/24'], communities: [], prepend: { asn: 65000, times: 2 } });
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/node\.bgp\.communities on node\/n1: 1100 communities/);
    const longText = 'x'.repeat(MAX_ANNOTATION_LENGTH + 1);
    expect(computeNodes([node(longText)], opts, problems).local?.communities).toEqual([]);
    expect(warnings[1]).toMatch(/characters; at most 16384 are read/);
  });

  it('reads the kube-router.io/peers YAML list', () => {
    const r = parsePeersYaml(
      '- remoteip: 192.168.1.99\n  remoteasn: 65000\n  password: U2VjdXJlUGFzc3dvcmQK\n- remoteip: 192.168.1.100\n  remoteasn: 65000\n  port: 1179\n  localip: 10.0.0.5\n',
    );
    expect(r).toEqual({
      ok: true,
      value: [
        { address: '192.168.1.99', asn: 65000, port: 179, password: 'SecurePassword' },
        { address: '192.168.1.100', asn: 65000, port: 1179, localAddress: '10.0.0.5' },
      ],
    });
  });

  it.each([
    ['not: a list', /YAML list/],
    ['- remoteip: x\n  remoteasn: 1', /remoteip/],
    ['- remoteip: 1.1.1.1\n  remoteasn: -3', /remoteasn/],
    ['- remoteip: 1.1.1.1\n  remoteasn: 1\n  colour: red', /unknown field colour/],
    ['- [unclosed', /not YAML/],
    ['- remoteip: 1.1.1.1\n  remoteasn: 1\n  maxprefixes: -5', /maxprefixes -5 is not a prefix count/],
  ])('refuses peers %j', (text, error) => expect(parsePeersYaml(text)).toMatchObject({ ok: false, error: expect.stringMatching(error) }));

  it("takes a peer's bfd block in kube-router.io/peers as kube-router does (missing values at kube-router's defaults)", () => {
    const r = parsePeersYaml(
      '- remoteip: 192.168.1.99\n  remoteasn: 65000\n  bfd:\n    enabled: true\n    port: 3785\n    detection_multiplier: 2\n    required_min_rx_interval: 300\n' +
        '- remoteip: 192.168.1.100\n  remoteasn: 65000\n  bfd:\n    enabled: false\n    port: 3785\n',
    );
    expect(r).toEqual({
      ok: true,
      value: [
        {
          address: '192.168.1.99',
          asn: 65000,
          port: 179,
          bfd: { port: 3785, detectMultiplier: 2, desiredMinTxMs: 1000, requiredMinRxMs: 300 },
        },
        { address: '192.168.1.100', asn: 65000, port: 179 },
      ],
    });
  });

  it.each([
    ['  bfd: yes', /bfd: must be a mapping/],
    ['  bfd:\n    enabled: true\n    port: 0', /bfd: port: 0 is not a UDP port/],
    ['  bfd:\n    enabled: true\n    detection_multiplier: 256', /detection_multiplier: 256 is not a detection multiplier/],
    ['  bfd:\n    enabled: true\n    desired_min_tx_interval: fast', /desired_min_tx_interval: "fast" is not an interval/],
    ['  bfd:\n    enabled: "yes"', /enabled "yes" is not true or false/],
    ['  bfd:\n    echo: true', /bfd: unknown field echo/],
  ])('refuses a bfd block %j', (block, error) =>
    expect(parsePeersYaml(`- remoteip: 1.1.1.1\n  remoteasn: 1\n${block}\n`)).toMatchObject({
      ok: false,
      error: expect.stringMatching(error),
    }),
  );

  it('takes a prefix limit per peer in kube-router.io/peers (maxprefixes)', () => {
    expect(parsePeersYaml('- remoteip: 192.168.1.99\n  remoteasn: 65000\n  maxprefixes: 200\n')).toEqual({
      ok: true,
      value: [{ address: '192.168.1.99', asn: 65000, port: 179, maxPrefixes: 200 }],
    });
  });

  it('zips the deprecated peer.* annotations', () => {
    expect(
      parseLegacyPeers({
        'kube-router.io/peer.ips': '192.168.1.99,192.168.1.100',
        'kube-router.io/peer.asns': '65000,65001',
        'kube-router.io/peer.passwords': 'U2VjdXJlUGFzc3dvcmQK,',
      }),
    ).toEqual({
      ok: true,
      value: [
        { address: '192.168.1.99', asn: 65000, port: 179, password: 'SecurePassword' },
        { address: '192.168.1.100', asn: 65001, port: 179 },
      ],
    });
    expect(parseLegacyPeers({ 'kube-router.io/peer.ips': '1.1.1.1,2.2.2.2', 'kube-router.io/peer.asns': '1' })).toMatchObject({
      ok: false,
    });
  });

  it('reads cluster IDs, booleans and passwords as kube-router does', () => {
    expect(parseClusterId('42')).toEqual({ ok: true, value: '0.0.0.42' });
    expect(parseClusterId('10.0.0.1')).toEqual({ ok: true, value: '10.0.0.1' });
    expect(parseClusterId('x')).toMatchObject({ ok: false });
    expect(parseBool('True')).toEqual({ ok: true, value: true });
    expect(parseBool('no')).toMatchObject({ ok: false });
    expect(parsePassword('%%%')).toMatchObject({ ok: false });
    // 80 octets is the kernel's limit (TCP_MD5SIG_MAXKEYLEN); counted in bytes, not characters.
    expect(parsePassword(Buffer.from('k'.repeat(80)).toString('base64'))).toEqual({ ok: true, value: 'k'.repeat(80) });
    expect(parsePassword(Buffer.from('é'.repeat(41)).toString('base64'))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/82\)/),
    });
  });
});
