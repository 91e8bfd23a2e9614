/** Table-driven: Services and EndpointSlices in, the VIPs this node advertises out. */
import { computeServiceVips, ServiceObject, EndpointSliceObject, ServicesOptions } from '../../controllers/services';
import { Problems } from '../../controllers/problems';

const opts = (over: Partial<ServicesOptions> = {}): ServicesOptions => ({
  nodeName: 'node1',
  nodeIps: ['10.0.0.1'],
  advertiseClusterIp: false,
  advertiseExternalIp: false,
  advertiseLoadBalancerIp: false,
  strictExternalIpValidation: true,
  externalIpRanges: ['198.51.100.0/24'],
  loadBalancerIpRanges: ['203.0.113.0/24'],
  clusterIpRanges: ['10.96.0.0/12'],
  ipv4: true,
  ipv6: false,
  ...over,
});
const svc = (name: string, spec: ServiceObject['spec'], annotations: Record<string, string> = {}, lb?: string[]): ServiceObject => ({
  metadata: { name, namespace: 'default', annotations },
  spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ...spec },
  ...(lb ? { status: { loadBalancer: { ingress: lb.map((ip) => ({ ip })) } } } : {}),
});
const slice = (service: string, endpoints: EndpointSliceObject['endpoints']): EndpointSliceObject => ({
  metadata: { name: `${service}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  endpoints,
});

function vips(services: ServiceObject[], slices: EndpointSliceObject[] = [], o = opts()): string[] {
  return computeServiceVips(services, slices, o, new Problems({ warn: () => undefined })).map((v) => `${v.kind} ${v.prefix}`);
}

describe('services controller', () => {
  it('advertises by flag', () => {
    const s = [svc('web', { clusterIP: '10.96.0.10', externalIPs: ['198.51.100.7'] })];
    expect(vips(s)).toEqual([]);
    expect(vips(s, [], opts({ advertiseClusterIp: true }))).toEqual(['cluster 10.96.0.10/32']);
    expect(vips(s, [], opts({ advertiseClusterIp: true, advertiseExternalIp: true }))).toEqual([
      'cluster 10.96.0.10/32',
      'external 198.51.100.7/32',
    ]);
  });

  it('per-service annotations override the flags both ways', () => {
    const on = svc('on', { clusterIP: '10.96.0.11' }, { 'kube-router.io/service.advertise.clusterip': 'true' });
    const off = svc('off', { clusterIP: '10.96.0.12' }, { 'kube-router.io/service.advertise.clusterip': 'false' });
    expect(vips([on, off])).toEqual(['cluster 10.96.0.11/32']);
    expect(vips([on, off], [], opts({ advertiseClusterIp: true }))).toEqual(['cluster 10.96.0.11/32']);
  });

  it('skips headless and ExternalName services', () => {
    expect(vips([svc('h', { clusterIP: 'None' }), svc('e', { type: 'ExternalName' })], [], opts({ advertiseClusterIp: true }))).toEqual([]);
  });

  it('strict validation keeps external and LB IPs outside the configured ranges out', () => {
    const s = [svc('x', { type: 'LoadBalancer', externalIPs: ['192.0.2.1', '198.51.100.9'] }, {}, ['203.0.113.5', '100.64.0.1'])];
    const o = opts({ advertiseExternalIp: true, advertiseLoadBalancerIp: true });
    expect(vips(s, [], o)).toEqual(['external 198.51.100.9/32', 'loadbalancer 203.0.113.5/32']);
    expect(vips(s, [], { ...o, strictExternalIpValidation: false })).toHaveLength(4);
    // Inside the cluster IP range, even if a range given covers it; no range at all: none.
    const inCluster = [svc('y', { externalIPs: ['10.96.7.7'] })];
    expect(vips(inCluster, [], { ...o, externalIpRanges: ['10.0.0.0/8'] })).toEqual([]);
    expect(vips(s, [], { ...o, externalIpRanges: [], loadBalancerIpRanges: [] })).toEqual([]);
  });

  describe('externalTrafficPolicy Local', () => {
    const s = [svc('local', { externalIPs: ['198.51.100.20'], externalTrafficPolicy: 'Local' })];
    const o = opts({ advertiseExternalIp: true, advertiseClusterIp: true });
    it.each<[string, EndpointSliceObject[], string[]]>([
      ['no endpoints: only the cluster IP', [], ['cluster 10.96.0.10/32']],
      [
        'a ready endpoint elsewhere',
        [slice('local', [{ addresses: ['10.233.66.5'], nodeName: 'node2', conditions: { ready: true } }])],
        ['cluster 10.96.0.10/32'],
      ],
      [
        'a not-ready endpoint here',
        [slice('local', [{ addresses: ['10.233.64.5'], nodeName: 'node1', conditions: { ready: false } }])],
        ['cluster 10.96.0.10/32'],
      ],
      [
        'a ready endpoint here',
        [slice('local', [{ addresses: ['10.233.64.5'], nodeName: 'node1', conditions: { ready: true } }])],
        ['cluster 10.96.0.10/32', 'external 198.51.100.20/32'],
      ],
      [
        'readiness unset counts as ready',
        [slice('local', [{ addresses: ['10.233.64.5'], nodeName: 'node1' }])],
        ['cluster 10.96.0.10/32', 'external 198.51.100.20/32'],
      ],
      ['a slice of another service', [slice('other', [{ addresses: ['10.233.64.5'], nodeName: 'node1' }])], ['cluster 10.96.0.10/32']],
    ])('%s', (_name, slices, expected) => expect(vips(s, slices, o)).toEqual(expected));
  });

  it('internalTrafficPolicy Local gates the cluster IP the same way', () => {
    const s = [svc('itp', { internalTrafficPolicy: 'Local' })];
    expect(vips(s, [], opts({ advertiseClusterIp: true }))).toEqual([]);
    expect(vips(s, [slice('itp', [{ addresses: ['10.233.64.5'], nodeName: 'node1' }])], opts({ advertiseClusterIp: true }))).toEqual([
      'cluster 10.96.0.10/32',
    ]);
  });

  it('a garbage annotation falls back to the flag and is reported once', () => {
    const warnings: string[] = [];
    const problems = new Problems({ warn: (_o, m) => warnings.push(m ?? '') });
    const s = [svc('g', {}, { 'kube-router.io/service.advertise.clusterip': 'yes please' })];
    const o = opts({ advertiseClusterIp: true });
    expect(computeServiceVips(s, [], o, problems).map((v) => v.prefix)).toEqual(['10.96.0.10/32']);
    computeServiceVips(s, [], o, problems);
    expect(warnings).toHaveLength(1);
  });
});
