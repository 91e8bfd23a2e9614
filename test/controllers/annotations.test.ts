import { parseCommunities, parsePeersYaml, parseLegacyPeers, parseClusterId, parseBool, parsePassword } from '../../controllers/annotations';

describe('kube-router annotations', () => {
  it('reads communities as numbers, a:b pairs and well-known names', () => {
    expect(parseCommunities('4294967041')).toEqual({ ok: true, value: [4294967041] });
    expect(parseCommunities('65535:65281, no-export')).toEqual({ ok: true, value: [0xffffff01, 0xffffff01] });
    expect(parseCommunities('65536:1')).toMatchObject({ ok: false });
    expect(parseCommunities('banana')).toMatchObject({ ok: false, error: expect.stringMatching(/banana/) });
  });

  it('reads the kube-router.io/peers YAML list', () => {
    const r = parsePeersYaml('- remoteip: 192.168.1.99\n  remoteasn: 65000\n  password: U2VjdXJlUGFzc3dvcmQK\n- remoteip: 192.168.1.100\n  remoteasn: 65000\n  port: 1179\n  localip: 10.0.0.5\n');
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
  ])('refuses peers %j', (text, error) => expect(parsePeersYaml(text)).toMatchObject({ ok: false, error: expect.stringMatching(error) }));

  it('zips the deprecated peer.* annotations', () => {
    expect(
      parseLegacyPeers({ 'kube-router.io/peer.ips': '192.168.1.99,192.168.1.100', 'kube-router.io/peer.asns': '65000,65001', 'kube-router.io/peer.passwords': 'U2VjdXJlUGFzc3dvcmQK,' }),
    ).toEqual({ ok: true, value: [{ address: '192.168.1.99', asn: 65000, port: 179, password: 'SecurePassword' }, { address: '192.168.1.100', asn: 65001, port: 179 }] });
    expect(parseLegacyPeers({ 'kube-router.io/peer.ips': '1.1.1.1,2.2.2.2', 'kube-router.io/peer.asns': '1' })).toMatchObject({ ok: false });
  });

  it('reads cluster IDs, booleans and passwords as kube-router does', () => {
    expect(parseClusterId('42')).toEqual({ ok: true, value: '0.0.0.42' });
    expect(parseClusterId('10.0.0.1')).toEqual({ ok: true, value: '10.0.0.1' });
    expect(parseClusterId('x')).toMatchObject({ ok: false });
    expect(parseBool('True')).toEqual({ ok: true, value: true });
    expect(parseBool('no')).toMatchObject({ ok: false });
    expect(parsePassword('%%%')).toMatchObject({ ok: false });
  });
});
