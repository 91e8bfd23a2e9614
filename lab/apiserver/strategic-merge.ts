/**
 * Strategic merge patch (application/strategic-merge-patch+json), what kubectl sends for
 * `apply`, `edit`, `label`, `annotate` and `patch` on built-in kinds. It is a JSON merge patch
 * except that some lists merge element by element on a key (a container by its name, a
 * container port by its number), and directives say what plain JSON cannot: `$patch: delete`
 * or `replace`, `$retainKeys`, `$deleteFromPrimitiveList/F` and `$setElementOrder/F`. The merge
 * keys are those of the kinds this server stores (from their Go types' patchMergeKey tags);
 * every other list is replaced whole, as the real server does for lists without one.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** Merge key of a list, by its field path (field names from the object's root, no indices). */
const MERGE_KEYS: Record<string, string> = {
  'metadata.ownerReferences': 'uid',
  'spec.containers': 'name',
  'spec.initContainers': 'name',
  'spec.ephemeralContainers': 'name',
  'spec.containers.ports': 'containerPort',
  'spec.initContainers.ports': 'containerPort',
  'spec.containers.env': 'name',
  'spec.initContainers.env': 'name',
  'spec.containers.volumeMounts': 'mountPath',
  'spec.initContainers.volumeMounts': 'mountPath',
  'spec.volumes': 'name',
  'spec.imagePullSecrets': 'name',
  'spec.hostAliases': 'ip',
  'spec.taints': 'key',
  'spec.topologySpreadConstraints': 'topologyKey',
  'status.conditions': 'type',
  'status.addresses': 'type',
  'status.containerStatuses': 'name',
  'status.podIPs': 'ip',
};

/** Lists of strings merged as sets (patchStrategy merge without a key). */
const MERGED_PRIMITIVE_LISTS = new Set(['metadata.finalizers']);

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export class PatchError extends Error {}

/** Applies a strategic merge patch to `target` (an API object); returns the new object. */
export function strategicMergePatch(target: unknown, patch: unknown, kind = ''): unknown {
  if (!isObj(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  // The Service's ports merge on "port"; a Pod's on each container's "containerPort".
  const keys = kind === 'Service' ? { ...MERGE_KEYS, 'spec.ports': 'port' } : MERGE_KEYS;
  return mergeMap(isObj(target) ? target : {}, patch, '', keys);
}

function mergeMap(target: Obj, patch: Obj, path: string, keys: Record<string, string>): Json | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return withoutDirectives(patch);
  const out: Obj = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((Array.isArray(v) ? v : []).map((x) => JSON.stringify(x)));
      const have = out[field];
      if (Array.isArray(have)) out[field] = have.filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    const sub = path ? `${path}.${k}` : k;
    if (v === null) {
      delete out[k];
    } else if (isObj(v)) {
      const merged = mergeMap(isObj(out[k]) ? (out[k] as Obj) : {}, v, sub, keys);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else if (Array.isArray(v)) {
      out[k] = mergeList(Array.isArray(out[k]) ? (out[k] as Json[]) : [], v, sub, keys);
    } else {
      out[k] = v;
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function mergeList(target: Json[], patch: Json[], path: string, keys: Record<string, string>): Json[] {
  if (MERGED_PRIMITIVE_LISTS.has(path)) {
    const seen = new Set(target.map((x) => JSON.stringify(x)));
    return [...target, ...patch.filter((x) => !seen.has(JSON.stringify(x)))];
  }
  const key = keys[path];
  if (!key || patch.some((e) => isObj(e) && e.$patch === 'replace')) {
    return patch.filter((e) => !(isObj(e) && e.$patch === 'replace')).map(withoutDirectives);
  }
  const out = [...target];
  for (const element of patch) {
    if (!isObj(element)) continue;
    const at = out.findIndex((e) => isObj(e) && e[key] === element[key]);
    if (element.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    const merged = mergeMap(at >= 0 ? (out[at] as Obj) : {}, element, path, keys);
    if (merged === undefined) continue;
    if (at >= 0) out[at] = merged;
    else out.push(merged);
  }
  return out;
}

/** A value as stored: directive keys taken out, at every depth. */
function withoutDirectives(x: Json): Json {
  if (Array.isArray(x)) return x.map(withoutDirectives);
  if (!isObj(x)) return x;
  const out: Obj = {};
  for (const [k, v] of Object.entries(x)) if (!k.startsWith('$')) out[k] = withoutDirectives(v);
  return out;
}
