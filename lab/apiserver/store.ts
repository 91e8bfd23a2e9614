/**
 * The object store behind the embedded API server: one global resourceVersion that every write
 * increments (as etcd's revision does), the objects per resource, and a bounded history of
 * events so that a watch can resume from a resourceVersion. A watch from a version older than
 * the history holds is "too old" (HTTP 410 / Expired), exactly as a compacted etcd answers.
 */
import crypto from 'node:crypto';
import { Resource, apiVersionOf } from './resources';

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  resource: Resource;
  type: EventType;
  object: KubeObject;
  /** The object before a MODIFIED or DELETED event: watches decide selector transitions with it. */
  previous?: KubeObject;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const key = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`;
const clone = <T>(x: T): T => structuredClone(x);

export class Store {
  private rv = 1;
  private readonly objects = new Map<Resource, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  /** Events at or below this version are gone: a watch from before it gets 410. */
  private compactedThrough = 0;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(private readonly maxHistory = 10000) {}

  get resourceVersion(): string {
    return String(this.rv);
  }

  private table(r: Resource): Map<string, KubeObject> {
    let t = this.objects.get(r);
    if (!t) this.objects.set(r, (t = new Map()));
    return t;
  }

  get(r: Resource, ns: string | undefined, name: string): KubeObject {
    const o = this.find(r, ns, name);
    if (!o) throw new ApiError(404, 'NotFound', `${r.plural} "${name}" not found`);
    return o;
  }

  /** A copy of the object, or undefined when there is none. */
  find(r: Resource, ns: string | undefined, name: string): KubeObject | undefined {
    const o = this.table(r).get(key(ns, name));
    return o && clone(o);
  }

  list(r: Resource, ns?: string): KubeObject[] {
    return [...this.table(r).values()].filter((o) => ns === undefined || o.metadata.namespace === ns).map(clone);
  }

  create(r: Resource, ns: string | undefined, input: KubeObject): KubeObject {
    const obj = clone(input);
    obj.metadata ??= {};
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = `${obj.metadata.generateName}${crypto.randomBytes(3).toString('hex').slice(0, 5)}`;
    const name = obj.metadata.name;
    if (!name) throw new ApiError(422, 'Invalid', `${r.kind}: metadata.name: Required value`);
    if (r.namespaced) obj.metadata.namespace = ns ?? obj.metadata.namespace ?? 'default';
    else delete obj.metadata.namespace;
    const k = key(obj.metadata.namespace, name);
    if (this.table(r).has(k)) throw new ApiError(409, 'AlreadyExists', `${r.plural} "${name}" already exists`);
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    obj.metadata.uid = crypto.randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    obj.metadata.generation = 1;
    if (r.status && r.status !== 'keep') obj.status = clone(r.status);
    return this.write(r, k, 'ADDED', obj);
  }

  /** PUT: replaces the object; a stale metadata.resourceVersion is a conflict (409). */
  /**
   * Replaces an object. For resources with a status subresource the main resource keeps the
   * current status and `.../status` (statusOnly) changes nothing but the status.
   */
  replace(r: Resource, ns: string | undefined, name: string, input: KubeObject, statusOnly = false): KubeObject {
    const k = key(r.namespaced ? ns : undefined, name);
    const current = this.table(r).get(k);
    if (!current) throw new ApiError(404, 'NotFound', `${r.plural} "${name}" not found`);
    let obj = clone(input);
    obj.metadata ??= {};
    if (statusOnly)
      obj = {
        ...clone(current),
        status: obj.status,
        metadata: { ...clone(current.metadata), resourceVersion: obj.metadata.resourceVersion },
      };
    else if (r.status) obj.status = clone(current.status);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name)
      throw new ApiError(400, 'BadRequest', 'the name of the object does not match the URL');
    const given = obj.metadata.resourceVersion;
    if (given && given !== current.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${r.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    obj.metadata = {
      ...obj.metadata,
      name,
      uid: current.metadata.uid,
      creationTimestamp: current.metadata.creationTimestamp,
      generation: (current.metadata.generation ?? 1) + (statusOnly ? 0 : 1),
    };
    if (r.namespaced) obj.metadata.namespace = current.metadata.namespace;
    return this.write(r, k, 'MODIFIED', obj, current);
  }

  delete(r: Resource, ns: string | undefined, name: string): KubeObject {
    const k = key(r.namespaced ? ns : undefined, name);
    const current = this.table(r).get(k);
    if (!current) throw new ApiError(404, 'NotFound', `${r.plural} "${name}" not found`);
    this.table(r).delete(k);
    const obj = clone(current);
    obj.metadata.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, resource: r, type: 'DELETED', object: obj, previous: current });
    return clone(obj);
  }

  private write(r: Resource, k: string, type: EventType, obj: KubeObject, previous?: KubeObject): KubeObject {
    obj.metadata.resourceVersion = String(++this.rv);
    this.table(r).set(k, obj);
    const e: StoreEvent = { rv: this.rv, resource: r, type, object: clone(obj) };
    if (previous) e.previous = previous;
    this.record(e);
    return clone(obj);
  }

  private record(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > this.maxHistory) {
      const dropped = this.history.splice(0, this.history.length - this.maxHistory);
      this.compactedThrough = dropped[dropped.length - 1]!.rv;
    }
    for (const l of this.listeners) l(e);
  }

  /** Forgets all history, like an etcd compaction: every earlier version becomes too old. */
  compact(): void {
    this.compactedThrough = this.rv;
    this.history = [];
  }

  /**
   * Subscribes to events of one resource after `fromRv`. Replayed history comes first; an
   * `fromRv` older than the history throws 410 Expired. Returns the unsubscribe function.
   */
  watch(r: Resource, fromRv: number, listener: (e: StoreEvent) => void): () => void {
    if (fromRv < this.compactedThrough) {
      throw new ApiError(410, 'Expired', `too old resource version: ${fromRv} (${this.compactedThrough + 1})`);
    }
    for (const e of this.history) if (e.rv > fromRv && e.resource === r) listener(e);
    const live = (e: StoreEvent): void => {
      if (e.resource === r) listener(e);
    };
    this.listeners.add(live);
    return () => this.listeners.delete(live);
  }
}

/** RFC 7386 JSON merge patch: objects merge recursively, null removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch, the operations kubectl and controllers use (add, remove, replace, test). */
export function jsonPatch(target: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
  // A JSON document: objects and arrays indexed by the path's parts.
  type Node = Record<string, unknown> & unknown[];
  const doc = clone(target) as Node;
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    if (last === undefined) throw new ApiError(422, 'Invalid', 'JSON patch path must not be empty');
    let parent: Node = doc;
    for (const p of parts) {
      if (parent[p] === undefined && op.op === 'add') parent[p] = {};
      parent = parent[p] as Node;
      if (parent === undefined || parent === null) throw new ApiError(422, 'Invalid', `JSON patch path ${op.path} does not exist`);
    }
    switch (op.op) {
      case 'add':
      case 'replace':
        if (Array.isArray(parent) && last === '-') parent.push(op.value);
        else parent[last] = clone(op.value);
        break;
      case 'remove':
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
        break;
      case 'test':
        if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
          throw new ApiError(422, 'Invalid', `JSON patch test failed at ${op.path}`);
        break;
      default:
        throw new ApiError(422, 'Invalid', `unsupported JSON patch operation ${op.op}`);
    }
  }
  return doc;
}
