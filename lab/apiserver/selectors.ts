/**
 * Label and field selectors as the API server understands them: comma-separated requirements,
 * each "key=value", "key==value", "key!=value", "key" (exists), "!key" (does not exist),
 * "key in (a,b)" or "key notin (a,b)" (labels only). Field selectors support the fields the
 * agent, the lab and kubectl use, with = and != only.
 */

type Requirement =
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: 'in' | 'notin'; values: string[] };

export class SelectorError extends Error {}

/** Splits on the commas between requirements, not those inside a set's parentheses. */
function requirements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

const KEY = /^[\w./-]+$/;

export function parseSelector(text: string | null | undefined): Requirement[] {
  if (!text) return [];
  return requirements(text).map((part): Requirement => {
    const p = part.trim();
    const set = /^([\w./-]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(p);
    if (set) return { key: set[1]!, op: set[2] as 'in' | 'notin', values: set[3]!.split(',').map((v) => v.trim()) };
    const ne = p.indexOf('!=');
    if (ne > 0) return { key: p.slice(0, ne).trim(), op: '!=', value: p.slice(ne + 2).trim() };
    const eq = p.indexOf('=');
    if (eq > 0) return { key: p.slice(0, eq).trim(), op: '=', value: p.slice(p[eq + 1] === '=' ? eq + 2 : eq + 1).trim() };
    if (p.startsWith('!') && KEY.test(p.slice(1).trim())) return { key: p.slice(1).trim(), op: '!exists' };
    if (KEY.test(p)) return { key: p, op: 'exists' };
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
    case 'in':
      return value !== undefined && req.values.includes(value);
    case 'notin':
      return value === undefined || !req.values.includes(value);
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
    if (r.op !== '=' && r.op !== '!=') throw new SelectorError(`field selectors take = and != only: ${r.key}`);
    return test(r, get(obj));
  });
}
