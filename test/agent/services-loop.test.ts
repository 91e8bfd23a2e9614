/**
 * The services loop's DSR share, with a fake cluster and data path: local DSR endpoints go to
 * the data path with their pods' container IDs; a pod whose tunnel cannot be set up (the
 * runtime does not know it, a wrong --runtime-endpoint) does not fail the run, which would hold
 * up the proxy and make the agent unhealthy: it is said once and tried again soon.
 */
import { ServicesLoop } from '../../src/agent/services-loop';
import { Problems } from '../../controllers/problems';
import type { AgentConfig } from '../../src/config/agent-config';
import type { ClusterWatch } from '../../controllers/cluster-watch';
import type { DataPlane, ServicesDataPlane } from '../../src/agent/dataplane';
import type { Joined } from '../../src/agent/desired';
import { silentLogger } from '../../bgp/log';

const service = {
  metadata: { name: 'web', namespace: 'default', annotations: { 'kube-router.io/service.dsr': 'tunnel' } },
  spec: {
    type: 'ClusterIP',
    clusterIP: '10.96.0.10',
    externalIPs: ['198.51.100.7'],
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  },
};
const slice = {
  metadata: { name: 'web-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'node1', conditions: { ready: true } }],
};
const pod = {
  metadata: { name: 'web-1', namespace: 'default' },
  spec: { nodeName: 'node1' },
  status: { podIP: '10.244.1.5', containerStatuses: [{ containerID: 'containerd://c1' }] },
};

function setup(runtimeEndpoint: string, failed: { podIp: string; err: string }[]) {
  const config = {
    nodeName: 'node1',
    ipv4: true,
    ipv6: false,
    hairpinMode: false,
    nodeportBindonAllIp: false,
    strictExternalIpValidation: false,
    serviceExternalIpRanges: [],
    loadBalancerIpRanges: [],
    serviceClusterIpRanges: ['10.96.0.0/12'],
    runtimeEndpoint,
  } as unknown as AgentConfig;
  const informer = <T>(items: T[]) => ({ synced: true, list: () => items });
  const cluster = {
    services: informer([service]),
    endpointSlices: informer([slice]),
    pods: informer([pod]),
  } as unknown as ClusterWatch;
  const given: ServicesDataPlane[] = [];
  const dataplane = {
    reconcileServices: async (d: ServicesDataPlane) => {
      given.push(d);
      return {
        added: [],
        edited: [],
        removed: [],
        realServers: [],
        vipsAdded: [],
        vipsRemoved: [],
        dsr: { rules: { added: [], removed: [] }, localAdded: [], localRemoved: [] },
        podTunnels: { configured: [], failed },
      };
    },
  } as unknown as DataPlane;
  const warnings: string[] = [];
  const again = jest.fn();
  const loop = new ServicesLoop(
    config,
    cluster,
    dataplane,
    new Problems({ warn: (_o: object, m?: string) => warnings.push(String(m)) }),
    silentLogger,
    again,
  );
  const joined = { local: { ipv4: '10.0.0.11', podCidrs: ['10.244.1.0/24'] } } as unknown as Joined;
  return { loop, given, warnings, again, joined };
}

describe('services loop: DSR endpoint pods', () => {
  afterEach(() => jest.useRealTimers());

  it('hands local DSR endpoints to the data path with their container IDs', async () => {
    const t = setup('unix:///run/containerd/containerd.sock', []);
    await t.loop.run(t.joined);
    expect(t.given[0]!.podTunnels).toEqual([{ podIp: '10.244.1.5', containerId: 'containerd://c1', vips: ['198.51.100.7'] }]);
    expect(t.warnings).toEqual([]);
  });

  it('a tunnel that cannot be set up: the run still succeeds, the reason is said once, another run is asked for', async () => {
    jest.useFakeTimers();
    const t = setup('unix:///run/containerd/containerd.sock', [{ podIp: '10.244.1.5', err: 'container c1 through x: not found' }]);
    await t.loop.run(t.joined);
    await t.loop.run(t.joined);
    expect(t.warnings).toEqual([expect.stringContaining('not set up: container c1 through x: not found')]);
    expect(t.again).not.toHaveBeenCalled();
    jest.advanceTimersByTime(10_000);
    expect(t.again).toHaveBeenCalledTimes(1);
  });

  it('without --runtime-endpoint: no tunnel is attempted, and the agent says why once', async () => {
    const t = setup('', []);
    await t.loop.run(t.joined);
    await t.loop.run(t.joined);
    expect(t.given[0]!.podTunnels).toEqual([]);
    expect(t.warnings).toEqual([expect.stringContaining('not given: the local endpoints of DSR services (10.244.1.5) get no tunnel')]);
  });
});
