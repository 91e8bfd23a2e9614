/**
 * Label and field selectors as the API server understands them: comma-separated requirements,
 * each "key=value", "key==value", "key!=value", "key" (exists) or "!key" (does not exist).
 * Field selectors support the fields the agent and the lab use.
 */

type Requirement = { key: string; op: '=' | '!=' | 'exists' | '!exists'; value?: string };

export class SelectorError extends Error {}

export function parseSelector(text: string | null | undefined): Requirement[] {
  if (!text) return [];
  return text.split(',').map((part): Requirement => {
    const p = part.trim();
    const ne = p.indexOf('!=');
    if (ne > 0) return { key: p.slice(0, ne), op: '!=', value: p.slice(ne + 2) };
    const eq = p.indexOf('=');
    if (eq > 0) return { key: p.slice(0, eq), op: '=', value: p.slice(p[eq + 1] === '=' ? eq + 2 : eq + 1) };
    if (p.startsWith('!') && p.length > 1) return { key: p.slice(1), op: '!exists' };
    if (/^[\w./-]+$/.test(p)) return { key: p, op: 'exists' };
    throw new SelectorError(`unable to parse requirement: ${JSON.stringify(p)}`);
  });
}

function test(req: Requirement, value: string | undefined): boolean {
  switch (req.op) {
    case '=':
      return value === req.value;
    case '!=':
      return value !== req.value;
    case 'exists':
      return value !== undefined;
    case '!exists':
      return value === undefined;
  }
}

export function matchesLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  return reqs.every((r) => test(r, labels?.[r.key]));
}

/** The fields a field selector may name, as the API server supports them for these kinds. */
interface Selectable {
  metadata?: { name?: string; namespace?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string };
  /** Events: what `kubectl describe` lists them by. */
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
}

const FIELDS: Record<string, (o: Selectable) => string | undefined> = {
  'metadata.name': (o) => o.metadata?.name,
  'metadata.namespace': (o) => o.metadata?.namespace,
  'spec.nodeName': (o) => o.spec?.nodeName ?? '',
  'status.phase': (o) => o.status?.phase,
  'involvedObject.kind': (o) => o.involvedObject?.kind,
  'involvedObject.name': (o) => o.involvedObject?.name,
  'involvedObject.namespace': (o) => o.involvedObject?.namespace,
  'involvedObject.uid': (o) => o.involvedObject?.uid,
};

export function matchesFields(reqs: Requirement[], obj: Selectable): boolean {
  return reqs.every((r) => {
    const get = FIELDS[r.key];
    if (!get) throw new SelectorError(`field label not supported: ${r.key}`);
    return test(r, get(obj));
  });
}
