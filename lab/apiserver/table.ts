/**
 * Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks for in its Accept
 * header: the columns the real API server prints for these kinds (priority 1 are `-o wide`),
 * a row per object with the object's metadata (or the object, or nothing, per includeObject).
 */
import type { KubeObject } from './store';
import type { Resource } from './resources';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
  cell: (o: Obj, now: number) => string | number;
}

/** A loosely typed API object: printing reads whatever fields are there. */
type Obj = KubeObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NONE = '<none>';

/** Kubernetes' HumanDuration (apimachinery util/duration): 45s, 3m20s, 12m, 5h10m, 3d4h, 2y. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  return `${Math.floor(hours / 24 / 365)}y`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name ?? '' };
const age: Column = {
  name: 'Age',
  type: 'string',
  cell: (o, now) => {
    const t = Date.parse(o.metadata.creationTimestamp ?? '');
    return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
  },
};
const list = (items: Obj[string][] | undefined, f: (x: Obj[string]) => string): string => (items?.length ? items.map(f).join(',') : NONE);
const labelSelector = (sel: Record<string, string> | undefined): string =>
  sel && Object.keys(sel).length
    ? Object.entries(sel)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
    : NONE;

function nodeStatus(o: Obj): string {
  const ready = (o.status?.conditions as { type: string; status: string }[] | undefined)?.find((c) => c.type === 'Ready');
  const s = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  return o.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
}

function nodeRoles(o: Obj): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean);
  return roles.length ? roles.sort().join(',') : NONE;
}

const nodeAddress = (o: Obj, type: string): string =>
  (o.status?.addresses as { type: string; address: string }[] | undefined)?.find((a) => a.type === type)?.address ?? NONE;

function podReady(o: Obj): string {
  const statuses = (o.status?.containerStatuses as { ready?: boolean }[] | undefined) ?? [];
  const total = (o.spec?.containers as unknown[] | undefined)?.length ?? statuses.length;
  return `${statuses.filter((c) => c.ready).length}/${total}`;
}

const podStatus = (o: Obj): string => (o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.reason ?? o.status?.phase ?? 'Unknown'));

const podRestarts = (o: Obj): number =>
  ((o.status?.containerStatuses as { restartCount?: number }[] | undefined) ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);

function servicePorts(o: Obj): string {
  const ports = (o.spec?.ports as { port: number; protocol?: string; nodePort?: number }[] | undefined) ?? [];
  return ports.length ? ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') : NONE;
}

function serviceExternal(o: Obj): string {
  const ips = [
    ...((o.status?.loadBalancer?.ingress as { ip?: string; hostname?: string }[] | undefined) ?? []).map((i) => i.ip ?? i.hostname),
    ...((o.spec?.externalIPs as string[] | undefined) ?? []),
  ].filter(Boolean);
  if (ips.length) return ips.join(',');
  return o.spec?.type === 'LoadBalancer' ? '<pending>' : NONE;
}

function sliceEndpoints(o: Obj): string {
  const addrs = ((o.endpoints as { addresses?: string[] }[] | undefined) ?? []).flatMap((e) => e.addresses ?? []);
  if (addrs.length === 0) return NONE;
  return addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
}

function endpointsList(o: Obj): string {
  const eps = ((o.subsets as { addresses?: { ip: string }[]; ports?: { port: number }[] }[] | undefined) ?? []).flatMap((s) =>
    (s.addresses ?? []).flatMap((a) => (s.ports?.length ? s.ports.map((p) => `${a.ip}:${p.port}`) : [a.ip])),
  );
  if (eps.length === 0) return NONE;
  return eps.length > 3 ? `${eps.slice(0, 3).join(',')} + ${eps.length - 3} more...` : eps.join(',');
}

function policySelector(o: Obj): string {
  const sel = o.spec?.podSelector as { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined;
  if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !sel.matchExpressions?.length)) return NONE;
  const exprs = ((sel.matchExpressions as { key: string; operator: string; values?: string[] }[] | undefined) ?? []).map(
    (e) => `${e.key} ${e.operator.toLowerCase()}${e.values ? ` (${e.values.join(',')})` : ''}`,
  );
  return [...Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`), ...exprs].join(',');
}

const COLUMNS: Record<string, Column[]> = {
  Node: [
    name,
    { name: 'Status', type: 'string', cell: nodeStatus },
    { name: 'Roles', type: 'string', cell: nodeRoles },
    age,
    { name: 'Version', type: 'string', cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? '' },
    { name: 'Internal-IP', type: 'string', priority: 1, cell: (o) => nodeAddress(o, 'InternalIP') },
    { name: 'External-IP', type: 'string', priority: 1, cell: (o) => nodeAddress(o, 'ExternalIP') },
    { name: 'OS-Image', type: 'string', priority: 1, cell: (o) => o.status?.nodeInfo?.osImage ?? '<unknown>' },
    { name: 'Kernel-Version', type: 'string', priority: 1, cell: (o) => o.status?.nodeInfo?.kernelVersion ?? '<unknown>' },
    { name: 'Container-Runtime', type: 'string', priority: 1, cell: (o) => o.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>' },
  ],
  Namespace: [name, { name: 'Status', type: 'string', cell: (o) => o.status?.phase ?? '' }, age],
  Pod: [
    name,
    { name: 'Ready', type: 'string', cell: podReady },
    { name: 'Status', type: 'string', cell: podStatus },
    { name: 'Restarts', type: 'string', cell: (o) => String(podRestarts(o)) },
    age,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => o.status?.podIP ?? NONE },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => o.spec?.nodeName ?? NONE },
    { name: 'Nominated Node', type: 'string', priority: 1, cell: (o) => o.status?.nominatedNodeName ?? NONE },
    { name: 'Readiness Gates', type: 'string', priority: 1, cell: (o) => list(o.spec?.readinessGates, (g) => g.conditionType) },
  ],
  Service: [
    name,
    { name: 'Type', type: 'string', cell: (o) => o.spec?.type ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', cell: (o) => o.spec?.clusterIP ?? NONE },
    { name: 'External-IP', type: 'string', cell: serviceExternal },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    age,
    { name: 'Selector', type: 'string', priority: 1, cell: (o) => labelSelector(o.spec?.selector) },
  ],
  Endpoints: [name, { name: 'Endpoints', type: 'string', cell: endpointsList }, age],
  EndpointSlice: [
    name,
    { name: 'AddressType', type: 'string', cell: (o) => o.addressType ?? '' },
    { name: 'Ports', type: 'string', cell: (o) => list(o.ports, (p) => String(p.port ?? '<unset>')) },
    { name: 'Endpoints', type: 'string', cell: sliceEndpoints },
    age,
  ],
  NetworkPolicy: [name, { name: 'Pod-Selector', type: 'string', cell: policySelector }, age],
  Lease: [name, { name: 'Holder', type: 'string', cell: (o) => o.spec?.holderIdentity ?? '' }, age],
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      cell: (o, now) => humanDuration(now - Date.parse(o.lastTimestamp ?? o.metadata.creationTimestamp ?? '')),
    },
    { name: 'Type', type: 'string', cell: (o) => o.type ?? '' },
    { name: 'Reason', type: 'string', cell: (o) => o.reason ?? '' },
    {
      name: 'Object',
      type: 'string',
      cell: (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`,
    },
    { name: 'Message', type: 'string', cell: (o) => o.message ?? '' },
  ],
};

/** The Accept header asks for a Table (kubectl get sends "application/json;as=Table;v=v1;g=meta.k8s.io,..."). */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((t) => /;\s*as=Table/.test(t) && /;\s*g=meta\.k8s\.io/.test(t));
}

/** The objects as a Table; includeObject is None, Metadata (the default) or Object. */
export function toTable(
  r: Resource,
  objects: readonly KubeObject[],
  resourceVersion: string,
  includeObject: string | null,
  now = Date.now(),
): Record<string, unknown> {
  const columns = COLUMNS[r.kind] ?? [name, age];
  const rowObject = (o: KubeObject): unknown =>
    includeObject === 'None'
      ? undefined
      : includeObject === 'Object'
        ? o
        : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: '',
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({ cells: columns.map((c) => c.cell(o as Obj, now)), object: rowObject(o) })),
  };
}
