/**
 * API discovery as kubectl reads it (the unaggregated documents every client generation
 * understands): /api, /api/v1, /apis, /apis/GROUP and /apis/GROUP/VERSION, listing each resource
 * with its verbs, short names and categories, and the status subresources. Without these a
 * client cannot map "nodes" or "netpol" to a URL.
 */
import { RESOURCES, Resource } from './resources';

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];

interface GroupVersion {
  groupVersion: string;
  version: string;
}

const versionsOf = (group: string): GroupVersion[] =>
  [...new Set(RESOURCES.filter((r) => r.group === group).map((r) => r.version))].map((version) => ({
    groupVersion: group ? `${group}/${version}` : version,
    version,
  }));

function resourceEntries(r: Resource): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: r.plural,
    singularName: r.kind.toLowerCase(),
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: VERBS,
  };
  if (r.shortNames) main.shortNames = r.shortNames;
  if (r.categories) main.categories = r.categories;
  if (!r.status) return [main];
  return [main, { name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: STATUS_VERBS }];
}

function apiGroup(group: string): Record<string, unknown> {
  const versions = versionsOf(group);
  return { name: group, versions, preferredVersion: versions[0] };
}

/**
 * The discovery document at `pathname`, or undefined when it is not a discovery path.
 * `serverAddress` is host:port as the client reached us.
 */
export function discovery(pathname: string, serverAddress: string): Record<string, unknown> | undefined {
  const parts = pathname.split('/').filter(Boolean);
  if (parts[0] === 'api' && parts.length === 1)
    return {
      kind: 'APIVersions',
      versions: versionsOf('').map((v) => v.version),
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  if (parts[0] === 'apis' && parts.length === 1) {
    const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))];
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
  }
  const [group, version] = parts[0] === 'api' && parts.length === 2 ? ['', parts[1]] : parts[0] === 'apis' ? [parts[1]!, parts[2]] : [];
  if (group === undefined) return undefined;
  if (parts[0] === 'apis' && parts.length === 2)
    return RESOURCES.some((r) => r.group === group) ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) } : undefined;
  if (parts.length !== (parts[0] === 'api' ? 2 : 3)) return undefined;
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (resources.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: resources.flatMap(resourceEntries),
  };
}
