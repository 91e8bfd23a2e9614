/** Table-driven: Services and EndpointSlices in, IPVS virtual servers and kube-dummy-if VIPs out. */
import { computeProxy, ProxyOptions } from '../../controllers/service-proxy';
import type { EndpointSliceObject, ServiceObject } from '../../controllers/services';
import { Problems } from '../../controllers/problems';
import { dsrMarks, markText } from '../../controllers/dsr';

const opts = (over: Partial<ProxyOptions> = {}): ProxyOptions => ({
  nodeName: 'node1',
  nodeIps: ['10.0.0.11'],
  ipv4: true,
  ipv6: false,
  hairpinAll: false,
  strictExternalIpValidation: false,
  externalIpRanges: [],
  loadBalancerIpRanges: [],
  clusterIpRanges: ['10.96.0.0/12'],
  ...over,
});
const svc = (name: string, spec: ServiceObject['spec'], annotations: Record<string, string> = {}, lb?: string[]): ServiceObject => ({
  metadata: { name, namespace: 'default', annotations },
  spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }], ...spec },
  ...(lb ? { status: { loadBalancer: { ingress: lb.map((ip) => ({ ip })) } } } : {}),
});
/** A slice of `service` with endpoints "ip@node" (append "!" for not ready). */
const slice = (
  service: string,
  eps: string[],
  ports: EndpointSliceObject['ports'] = [{ name: 'http', protocol: 'TCP', port: 8080 }],
  addressType = 'IPv4',
): EndpointSliceObject => ({
  metadata: { name: `${service}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  addressType,
  ports,
  endpoints: eps.map((e) => {
    const [ip, node] = e.replace('!', '').split('@');
    return { addresses: [ip!], nodeName: node!, conditions: { ready: !e.endsWith('!') } };
  }),
});

function run(services: ServiceObject[], slices: EndpointSliceObject[], o = opts()) {
  const warnings: string[] = [];
  const d = computeProxy(services, slices, o, new Problems({ warn: (_o, m) => warnings.push(String(m)) }));
  const lines = d.virtualServers.map((v) =>
    `${v.kind} ${v.protocol} ${v.address}:${v.port} ${v.scheduler}${v.persistence ? ` p${v.persistence}` : ''} -> ${v.realServers.map((r) => `${r.address}:${r.port}`).join(' ')}`.trim(),
  );
  return { lines, vips: d.vips, warnings };
}

describe('service proxy controller', () => {
  it('a ClusterIP service: one virtual server per port, ready endpoints only, target port from the slice', () => {
    const r = run([svc('web', {})], [slice('web', ['10.244.1.2@node1', '10.244.2.2@node2', '10.244.3.2@node3!'])]);
    expect(r.lines).toEqual(['cluster tcp 10.96.0.10:80 rr -> 10.244.1.2:8080 10.244.2.2:8080']);
    expect(r.vips).toEqual(['10.96.0.10']);
  });

  it('matches slice ports by name and protocol; a service with no endpoints still gets its virtual server', () => {
    const s = svc('dns', {
      clusterIP: '10.96.0.53',
      ports: [
        { name: 'dns', protocol: 'UDP', port: 53 },
        { name: 'dns-tcp', protocol: 'TCP', port: 53 },
      ],
    });
    const sl = slice(
      'dns',
      ['10.244.1.5@node1'],
      [
        { name: 'dns', protocol: 'UDP', port: 5353 },
        { name: 'dns-tcp', protocol: 'TCP', port: 5354 },
      ],
    );
    expect(run([s], [sl]).lines).toEqual([
      'cluster tcp 10.96.0.53:53 rr -> 10.244.1.5:5354',
      'cluster udp 10.96.0.53:53 rr -> 10.244.1.5:5353',
    ]);
    expect(run([s], []).lines).toEqual(['cluster tcp 10.96.0.53:53 rr ->', 'cluster udp 10.96.0.53:53 rr ->']);
  });

  it('NodePort and LoadBalancer: node IP at the node port, external and LB IPs at the port; VIPs exclude node IPs', () => {
    const np = svc('np', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }], externalIPs: ['198.51.100.7'] });
    const lb = svc('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, nodePort: 30081 }] }, {}, [
      '203.0.113.9',
    ]);
    const r = run([np, lb], [slice('np', ['10.244.2.2@node2']), slice('lb', ['10.244.1.2@node1'])]);
    expect(r.lines).toEqual([
      'nodeport tcp 10.0.0.11:30080 rr -> 10.244.2.2:8080',
      'nodeport tcp 10.0.0.11:30081 rr -> 10.244.1.2:8080',
      'cluster tcp 10.96.0.10:80 rr -> 10.244.2.2:8080',
      'cluster tcp 10.96.0.20:80 rr -> 10.244.1.2:8080',
      'external tcp 198.51.100.7:80 rr -> 10.244.2.2:8080',
      'loadbalancer tcp 203.0.113.9:80 rr -> 10.244.1.2:8080',
    ]);
    expect(r.vips).toEqual(['10.96.0.10', '10.96.0.20', '198.51.100.7', '203.0.113.9']);
  });

  it('--strict-external-ip-validation: external and LB IPs outside their ranges, or inside the cluster range, are neither proxied nor VIPs', () => {
    const s = svc(
      'x',
      {
        type: 'LoadBalancer',
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
        externalIPs: ['198.51.100.7', '192.0.2.1', '10.96.7.7'],
      },
      {},
      ['203.0.113.9', '100.64.0.1'],
    );
    const strict = {
      strictExternalIpValidation: true,
      externalIpRanges: ['198.51.100.0/24', '10.96.0.0/12'],
      loadBalancerIpRanges: ['203.0.113.0/24'],
    };
    const r = run([s], [slice('x', ['10.244.2.2@node2'])], opts(strict));
    expect(r.vips).toEqual(['10.96.0.10', '198.51.100.7', '203.0.113.9']);
    expect(r.lines.filter((l) => /^(external|loadbalancer)/.test(l))).toEqual([
      'external tcp 198.51.100.7:80 rr -> 10.244.2.2:8080',
      'loadbalancer tcp 203.0.113.9:80 rr -> 10.244.2.2:8080',
    ]);
    expect(r.warnings).toEqual([
      expect.stringContaining('192.0.2.1 is outside --service-external-ip-range'),
      expect.stringContaining('10.96.7.7 is inside --service-cluster-ip-range'),
      expect.stringContaining('100.64.0.1 is outside --loadbalancer-ip-range'),
    ]);
    // No range given: every external and LB IP is refused (kube-router's default deny), the rest stays.
    const none = run([s], [slice('x', ['10.244.2.2@node2'])], opts({ strictExternalIpValidation: true }));
    expect(none.vips).toEqual(['10.96.0.10']);
    expect(none.lines).toHaveLength(2);
    // Off: every address is taken.
    expect(run([s], [slice('x', ['10.244.2.2@node2'])]).vips).toHaveLength(6);
  });

  it('externalTrafficPolicy Local keeps local endpoints on node ports and external IPs, not on the cluster IP', () => {
    const s = svc('web', {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      externalIPs: ['198.51.100.7'],
      ports: [{ name: 'http', port: 80, nodePort: 30080 }],
    });
    const sl = [slice('web', ['10.244.1.2@node1', '10.244.2.2@node2'])];
    expect(run([s], sl).lines).toEqual([
      'nodeport tcp 10.0.0.11:30080 rr -> 10.244.1.2:8080',
      'cluster tcp 10.96.0.10:80 rr -> 10.244.1.2:8080 10.244.2.2:8080',
      'external tcp 198.51.100.7:80 rr -> 10.244.1.2:8080',
    ]);
    expect(run([s], sl, opts({ nodeName: 'node3' })).lines).toEqual([
      'nodeport tcp 10.0.0.11:30080 rr ->',
      'cluster tcp 10.96.0.10:80 rr -> 10.244.1.2:8080 10.244.2.2:8080',
      'external tcp 198.51.100.7:80 rr ->',
    ]);
    const internal = svc('web', { internalTrafficPolicy: 'Local' });
    expect(run([internal], sl, opts({ nodeName: 'node2' })).lines).toEqual(['cluster tcp 10.96.0.10:80 rr -> 10.244.2.2:8080']);
  });

  it('scheduler annotation and ClientIP affinity; a bad scheduler is reported once and rr used', () => {
    const lc = svc('lc', { clusterIP: '10.96.0.11', sessionAffinity: 'ClientIP' }, { 'kube-router.io/service.scheduler': 'lc' });
    const t = svc(
      't',
      { clusterIP: '10.96.0.12', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
      { 'kube-router.io/service.scheduler': 'fastest' },
    );
    const problems = new Problems({ warn: () => undefined });
    const warnings: string[] = [];
    const p2 = new Problems({ warn: (_o, m) => warnings.push(String(m)) });
    computeProxy([t], [], opts(), p2);
    computeProxy([t], [], opts(), p2);
    expect(warnings).toEqual([
      'ignoring kube-router.io/service.scheduler on service/default/t: "fastest" is not one of rr, lc, dh, sh, mh; using rr',
    ]);
    const lines = computeProxy([lc, t], [], opts(), problems).virtualServers.map((v) => `${v.address} ${v.scheduler} ${v.persistence}`);
    expect(lines).toEqual(['10.96.0.11 lc 10800', '10.96.0.12 rr 60']);
  });

  it('schedflags with the mh scheduler only (as kube-router); an unknown flag is reported once and ignored', () => {
    const problems: string[] = [];
    const p = new Problems({ warn: (_o, m) => problems.push(String(m)) });
    const a = svc('a', {}, { 'kube-router.io/service.scheduler': 'mh', 'kube-router.io/service.schedflags': 'flag-1, flag-2,bogus' });
    const b = svc(
      'b',
      { clusterIP: '10.96.0.11' },
      { 'kube-router.io/service.scheduler': 'rr', 'kube-router.io/service.schedflags': 'flag-1' },
    );
    const d = computeProxy([a, b], [], opts(), p);
    expect(d.virtualServers.map((v) => `${v.address} ${v.scheduler} ${v.schedFlags ?? 0}`)).toEqual(['10.96.0.10 mh 3', '10.96.0.11 rr 0']);
    computeProxy([a, b], [], opts(), p);
    expect(problems).toEqual([expect.stringContaining('"bogus" is not flag-1, flag-2 or flag-3')]);
  });

  it('hairpin per service by annotation (presence, as kube-router), or for all with --hairpin-mode', () => {
    const a = svc('a', { clusterIP: '10.96.0.11' }, { 'kube-router.io/service.hairpin': '' });
    const b = svc('b', { clusterIP: '10.96.0.12' });
    const hp = (o: ProxyOptions) =>
      computeProxy([a, b], [], o, new Problems({ warn: () => undefined })).virtualServers.map((v) => `${v.address} ${v.hairpin}`);
    expect(hp(opts())).toEqual(['10.96.0.11 true', '10.96.0.12 false']);
    expect(hp(opts({ hairpinAll: true }))).toEqual(['10.96.0.11 true', '10.96.0.12 true']);
  });

  it('hairpin covers cluster IPs and node ports; external IPs only with kube-router.io/service.hairpin.externalips; LB IPs never', () => {
    const spec = { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30080 }], externalIPs: ['198.51.100.7'] };
    const kinds = (annotations: Record<string, string>) =>
      computeProxy([svc('x', spec, annotations, ['203.0.113.9'])], [], opts(), new Problems({ warn: () => undefined }))
        .virtualServers.filter((v) => v.hairpin)
        .map((v) => v.kind)
        .sort();
    expect(kinds({ 'kube-router.io/service.hairpin': '' })).toEqual(['cluster', 'nodeport']);
    expect(kinds({ 'kube-router.io/service.hairpin': '', 'kube-router.io/service.hairpin.externalips': '' })).toEqual([
      'cluster',
      'external',
      'nodeport',
    ]);
    expect(kinds({ 'kube-router.io/service.hairpin.externalips': '' })).toEqual([]);
  });

  it('DSR (kube-router.io/service.dsr=tunnel): external and LB IPs get a firewall mark, tunnel real servers and no VIP; local endpoints get pod tunnels', () => {
    const spec = {
      type: 'LoadBalancer',
      ports: [
        { name: 'http', port: 8080, nodePort: 30080 },
        { name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053 },
      ],
      externalIPs: ['198.51.100.7'],
    };
    const slices = [
      slice(
        'x',
        ['10.244.1.5@node1', '10.244.2.6@node2'],
        [
          { name: 'http', protocol: 'TCP', port: 8080 },
          { name: 'dns', protocol: 'UDP', port: 53 },
        ],
      ),
    ];
    const warnings: string[] = [];
    const d = computeProxy(
      [svc('x', spec, { 'kube-router.io/service.dsr': 'tunnel' }, ['203.0.113.9'])],
      slices,
      opts(),
      new Problems({ warn: (_o, m) => warnings.push(String(m)) }),
    );
    const dsr = d.virtualServers.filter((v) => v.fwmark);
    expect(dsr.map((v) => `${v.kind} ${v.protocol} ${v.address}:${v.port}`).sort()).toEqual([
      'external tcp 198.51.100.7:8080',
      'external udp 198.51.100.7:53',
      'loadbalancer tcp 203.0.113.9:8080',
      'loadbalancer udp 203.0.113.9:53',
    ]);
    // Marks: kube-router's FNV-1a of "IP-protocol-port" in 14 bits, distinct.
    expect(new Set(dsr.map((v) => v.fwmark)).size).toBe(4);
    for (const v of dsr) {
      expect(v.fwmark).toBe(dsrMarks([{ ip: v.address, protocol: v.protocol, port: v.port }]).get(markText(v.address, v.protocol, v.port)));
      expect(v.realServers.every((r) => r.tunnel)).toBe(true);
      expect(v.realServers.map((r) => r.address)).toEqual(['10.244.1.5', '10.244.2.6']);
    }
    // The cluster IP and node ports stay NAT; the DSR addresses are not local on the director.
    expect(
      d.virtualServers
        .filter((v) => !v.fwmark)
        .map((v) => v.kind)
        .sort(),
    ).toEqual(['cluster', 'cluster', 'nodeport', 'nodeport']);
    expect(d.virtualServers.filter((v) => !v.fwmark).every((v) => v.realServers.every((r) => !r.tunnel))).toBe(true);
    expect(d.vips).toEqual(['10.96.0.10']);
    expect(d.podTunnels).toEqual([{ podIp: '10.244.1.5', vips: ['198.51.100.7', '203.0.113.9'] }]);
    expect(warnings).toEqual([]);

    // Another value is reported and proxied with NAT.
    const other = computeProxy(
      [svc('x', spec, { 'kube-router.io/service.dsr': 'direct' })],
      slices,
      opts(),
      new Problems({ warn: (_o, m) => warnings.push(String(m)) }),
    );
    expect(other.virtualServers.some((v) => v.fwmark)).toBe(false);
    expect(other.vips).toEqual(['10.96.0.10', '198.51.100.7']);
    expect(warnings).toEqual([expect.stringContaining('"direct" is not "tunnel"')]);
    // IPv6 alike: the address gets a mark of its own, IPv6 endpoints (ip6ip6 in the pods).
    const v6 = computeProxy(
      [
        svc(
          'x',
          { ...spec, externalIPs: ['2001:db8::7'], clusterIPs: ['10.96.0.10', 'fd00::10'] },
          { 'kube-router.io/service.dsr': 'tunnel' },
        ),
      ],
      [slice('x', ['fd00:244:1::5@node1', 'fd00:244:2::6@node2'], undefined, 'IPv6')],
      opts({ ipv6: true, nodeIps: ['10.0.0.11', 'fd00::11'] }),
      new Problems({ warn: (_o, m) => warnings.push(String(m)) }),
    );
    const six = v6.virtualServers.filter((v) => v.fwmark);
    expect(six.map((v) => `${v.address}:${v.port} ${v.realServers.map((r) => `${r.address} ${r.tunnel}`).join(', ')}`)).toEqual([
      '2001:db8::7:8080 fd00:244:1::5 true, fd00:244:2::6 true',
      '2001:db8::7:53 ',
    ]);
    expect(v6.vips).toEqual(['10.96.0.10', 'fd00::10']);
    expect(v6.podTunnels).toEqual([{ podIp: 'fd00:244:1::5', vips: ['2001:db8::7'] }]);
    expect(warnings).toHaveLength(1);
  });

  it('DSR marks: unique and non-zero across many addresses, stable whatever the order', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => ({ ip: `198.51.${i >> 8}.${i & 255}`, protocol: 'tcp', port: 80 }));
    const a = dsrMarks(keys);
    const b = dsrMarks([...keys].reverse());
    expect(a.size).toBe(3000);
    expect(new Set(a.values()).size).toBe(3000);
    expect([...a.values()].every((m) => m > 0 && m <= 0x3fff)).toBe(true);
    expect([...a.entries()]).toEqual([...b.entries()]);
    // Known value: FNV-1a 32 of "10.0.0.1-tcp-80" is 0xff3635c6 (computed independently, in Python).
    expect(dsrMarks([{ ip: '10.0.0.1', protocol: 'tcp', port: 80 }]).get('10.0.0.1-tcp-80')).toBe(0xff3635c6 & 0x3fff);
  });

  it('skips headless and ExternalName services, garbage IPs and ports, and families not enabled', () => {
    const r = run(
      [
        svc('headless', { clusterIP: 'None' }),
        svc('ext', { type: 'ExternalName', clusterIP: undefined }),
        svc('bad', {
          clusterIP: '10.96.0.30',
          externalIPs: ['not-an-ip'],
          ports: [
            { name: 'x', protocol: 'ICMP', port: 1 },
            { name: 'http', port: 80 },
          ],
        }),
        svc('dual', { clusterIP: '10.96.0.40', clusterIPs: ['10.96.0.40', 'fd00:96::40'] }),
      ],
      [slice('dual', ['10.244.1.2@node1']), slice('dual', ['fd00:244::2@node1'], undefined, 'IPv6')],
    );
    expect(r.lines).toEqual(['cluster tcp 10.96.0.30:80 rr ->', 'cluster tcp 10.96.0.40:80 rr -> 10.244.1.2:8080']);
    expect(r.vips).toEqual(['10.96.0.30', '10.96.0.40']);
    expect(r.warnings).toHaveLength(2);
    const v6 = run(
      [svc('dual', { clusterIP: '10.96.0.40', clusterIPs: ['10.96.0.40', 'fd00:96::40'] })],
      [
        slice('dual', ['10.244.1.2@node1']),
        {
          ...slice('dual', ['fd00:244::2@node1'], undefined, 'IPv6'),
          metadata: { name: 'dual-y', namespace: 'default', labels: { 'kubernetes.io/service-name': 'dual' } },
        },
      ],
      opts({ ipv6: true }),
    );
    expect(v6.lines).toEqual(['cluster tcp 10.96.0.40:80 rr -> 10.244.1.2:8080', 'cluster tcp fd00:96::40:80 rr -> fd00:244::2:8080']);
  });

  it("node ports only in the families of the Service's cluster IPs, on a dual-stack node", () => {
    const dualNode = opts({ ipv6: true, nodeIps: ['10.0.0.11', 'fd00::11'] });
    const port = { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] };
    const v6 = slice('s', ['fd00:244::2@node1'], undefined, 'IPv6');
    const slices = [slice('s', ['10.244.1.2@node1']), { ...v6, metadata: { ...v6.metadata, name: 's-y' } }];
    const lines = (spec: ServiceObject['spec']): string[] => run([svc('s', { ...port, ...spec })], slices, dualNode).lines.sort();
    expect(lines({ clusterIP: '10.96.0.50' })).toEqual([
      'cluster tcp 10.96.0.50:80 rr -> 10.244.1.2:8080',
      'nodeport tcp 10.0.0.11:30080 rr -> 10.244.1.2:8080',
    ]);
    expect(lines({ clusterIP: 'fd00:96::50', clusterIPs: ['fd00:96::50'] })).toEqual([
      'cluster tcp fd00:96::50:80 rr -> fd00:244::2:8080',
      'nodeport tcp fd00::11:30080 rr -> fd00:244::2:8080',
    ]);
    expect(lines({ clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.50', 'fd00:96::50'] })).toEqual([
      'cluster tcp 10.96.0.50:80 rr -> 10.244.1.2:8080',
      'cluster tcp fd00:96::50:80 rr -> fd00:244::2:8080',
      'nodeport tcp 10.0.0.11:30080 rr -> 10.244.1.2:8080',
      'nodeport tcp fd00::11:30080 rr -> fd00:244::2:8080',
    ]);
  });
});
