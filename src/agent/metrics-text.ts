/**
 * Prometheus text exposition (format 0.0.4), written in one pass into one string. prom-client's
 * own writer builds several arrays and strings for every line (labels merged, formatted, filtered,
 * joined): about 0.5 MiB of garbage for each scrape of an idle agent's 530 lines, most of what
 * an idle agent allocated at the lab's 2-s scrape interval (docs/benchmarks.md).
 */
import type { Registry } from 'prom-client';

export type Labels = Readonly<Record<string, string | number>>;
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/**
 * One line: a value and its labels; as prom-client exports them, also the line's own name
 * (histograms' _bucket, _sum, _count) and the series' labels apart from the line's (`le`).
 */
export interface Sample {
  value: number;
  labels?: Labels;
  metricName?: string;
  /** A histogram's own labels, written after `le` (as prom-client writes them). */
  sharedLabels?: Labels;
}

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function escapeLabelValue(v: string | number): string | number {
  return typeof v === 'string' && /[\\\n"]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
}

/** A sample's value as the format spells it (NaN, +Inf, -Inf). */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return String(v);
}

/** `{a="x",b="y"}`, or nothing when there are no labels; `shared` after `labels`, each name once. */
function labelText(labels: Labels | undefined, shared?: Labels): string {
  let out = '';
  if (labels)
    for (const name in labels)
      if (!shared || !Object.hasOwn(shared, name)) out += `${out ? ',' : ''}${name}="${escapeLabelValue(labels[name]!)}"`;
  if (shared) for (const name in shared) out += `${out ? ',' : ''}${name}="${escapeLabelValue(shared[name]!)}"`;
  return out ? `{${out}}` : '';
}

/** One metric family: its HELP and TYPE lines and one line per value, each ending in a newline. */
export function familyText(name: string, help: string, type: MetricType, values: Iterable<Sample>): string {
  let out = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  for (const v of values) out += `${v.metricName ?? name}${labelText(v.labels, v.sharedLabels)} ${formatValue(v.value)}\n`;
  return out;
}

/** A prom-client metric as its registry sees it (the registry's typings give only name and help). */
export interface Registered {
  name: string;
  help: string;
  type: MetricType;
  labelNames?: string[];
  get(): Promise<{ values: Sample[] }>;
  getForPromString?(): Promise<{ values: Sample[] }>;
}

/** Every metric of a prom-client registry, the lines prom-client's own writer would give. */
export async function registryText(registry: Registry): Promise<string> {
  let out = '';
  for (const metric of registry.getMetricsAsArray()) {
    // Histograms export their lines with the series' labels apart (prom-client's registry
    // reads them the same way); the other types have only get().
    const m = metric as unknown as Registered;
    const data = m.getForPromString ? await m.getForPromString() : await m.get();
    out += familyText(m.name, m.help, m.type, data.values);
  }
  return out;
}
