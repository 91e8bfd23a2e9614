/** The API resources the embedded API server serves, and their URL paths. */

export interface Resource {
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /**
   * Resources with a status subresource: their status changes only through .../status, and on
   * create it is kept (Nodes: kubelet registers with its status) or reset to this value.
   */
  status?: 'keep' | Record<string, unknown>;
  /** Discovery: what kubectl accepts for the resource besides its plural and singular names. */
  shortNames?: string[];
  /** Discovery: groups such as "all" (`kubectl get all`). */
  categories?: string[];
}

export const RESOURCES: readonly Resource[] = [
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, status: 'keep', shortNames: ['no'] },
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    status: { phase: 'Active' },
    shortNames: ['ns'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    kind: 'Pod',
    namespaced: true,
    status: { phase: 'Pending' },
    shortNames: ['po'],
    categories: ['all'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'services',
    kind: 'Service',
    namespaced: true,
    status: { loadBalancer: {} },
    shortNames: ['svc'],
    categories: ['all'],
  },
  { group: '', version: 'v1', plural: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'] },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'] },
  { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true, shortNames: ['netpol'] },
];

export const apiVersionOf = (r: Resource): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** "/api/v1" or "/apis/discovery.k8s.io/v1". */
export const basePath = (r: Resource): string => (r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`);

export interface ParsedPath {
  resource: Resource;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * Parses a resource URL: /api/v1/nodes[/NAME], /api/v1/namespaces/NS/pods[/NAME[/status]],
 * /api/v1/pods (all namespaces), /apis/GROUP/VERSION/... alike.
 */
export function parseResourcePath(pathname: string): ParsedPath | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let rest: string[];
  let group = '';
  let version: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  // "namespaces/NS/plural/..." unless it is the namespaces resource itself ("namespaces[/NAME]").
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = RESOURCES.find((r) => r.group === group && r.version === version && r.plural === rest[0]);
  if (!resource || rest.length > 3) return undefined;
  if (namespace !== undefined && !resource.namespaced) return undefined;
  const out: ParsedPath = { resource };
  if (namespace !== undefined) out.namespace = namespace;
  if (rest[1] !== undefined) out.name = rest[1];
  if (rest[2] !== undefined) out.subresource = rest[2];
  return out;
}
