/** Text tables in the shape of gobgp's `neighbor`, `global` and `global rib` output. */
import type { GlobalView, NeighborView, PathView } from './views';

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const hms = [h, m, s].map((x) => String(x).padStart(2, '0')).join(':');
  return d > 0 ? `${d}d ${hms}` : hms;
}

const SHORT_STATE: Record<string, string> = { Established: 'Establ', OpenConfirm: 'OpenConf' };

/** Left-aligned columns (right-aligned for the indexes in `right`), one space apart. */
export function table(rows: string[][], right: Set<number> = new Set()): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join(' ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatNeighbors(ns: NeighborView[]): string {
  const rows = [['Peer', 'AS', 'Up/Down', 'State', '|#Received', 'Accepted', 'Advertised']];
  for (const n of ns) {
    rows.push([
      n.address,
      String(n.asn),
      duration(n.uptime),
      SHORT_STATE[n.state] ?? n.state,
      `|${String(n.received).padStart(9)}`,
      String(n.accepted),
      String(n.advertised),
    ]);
  }
  return table(rows, new Set([1, 5, 6]));
}

export function formatNeighborDetail(n: NeighborView): string {
  const lines = [
    `BGP neighbor is ${n.address}, remote AS ${n.asn}${n.passive ? ' (passive)' : ''}`,
    `  BGP state = ${n.state}, up/down for ${duration(n.uptime)}`,
  ];
  if (n.routerId)
    lines.push(`  BGP identifier ${n.routerId}${n.hostname ? `, hostname ${n.hostname}` : ''}, local address ${n.localAddress ?? '-'}`);
  if (n.holdTime !== undefined) lines.push(`  Hold time ${n.holdTime} s, keepalive ${n.keepaliveTime} s`);
  if (n.families.length) lines.push(`  Families: ${n.families.join(', ')}`);
  if (n.capabilities.length) lines.push(`  Peer capabilities: ${n.capabilities.join(', ')}`);
  lines.push(`  Prefixes: received ${n.received}, accepted ${n.accepted}, advertised ${n.advertised}`);
  const msgs = (m: Record<string, number>): string =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  lines.push(`  Messages received: ${msgs(n.messages.received)}`, `  Messages sent:     ${msgs(n.messages.sent)}`);
  if (n.lastError) lines.push(`  Last error: ${n.lastError}`);
  return lines.join('\n');
}

export function formatGlobal(g: GlobalView): string {
  return [
    `AS:        ${g.asn}`,
    `Router-ID: ${g.routerId}`,
    `Listening Port: ${g.listenPort ?? '-'}, Addresses: ${g.listenAddresses.join(', ') || '-'}`,
    `Neighbors: ${g.neighbors} (${g.established} established), originated prefixes: ${g.prefixes.originated}`,
  ].join('\n');
}

function attrs(p: PathView): string {
  const parts = [`{Origin: ${p.origin}}`];
  if (p.med !== undefined) parts.push(`{Med: ${p.med}}`);
  if (p.localPref !== undefined) parts.push(`{LocalPref: ${p.localPref}}`);
  if (p.communities) parts.push(`{Communities: ${p.communities.join(', ')}}`);
  if (p.largeCommunities) parts.push(`{LargeCommunity: ${p.largeCommunities.join(', ')}}`);
  if (p.atomicAggregate) parts.push('{AtomicAggregate}');
  if (p.aggregator) parts.push(`{Aggregate: ${p.aggregator}}`);
  if (p.originatorId) parts.push(`{Originator: ${p.originatorId}}`);
  if (p.clusterList) parts.push(`{ClusterList: [${p.clusterList.join(', ')}]}`);
  if (!p.accepted) parts.push(`{Rejected: ${p.rejectReason ?? 'yes'}}`);
  if (p.fib && !p.fib.installed) parts.push(`{NotInstalled: ${p.fib.reason}}`);
  return `[${parts.join(' ')}]`;
}

export function formatRib(paths: PathView[]): string {
  if (paths.length === 0) return 'Network not in table';
  const rows = [['   Network', 'Next Hop', 'AS_PATH', 'Age', 'Attrs']];
  for (const p of paths) {
    rows.push([`${p.best ? '*>' : p.accepted ? '* ' : '  '} ${p.prefix}`, p.nextHop, p.asPath, duration(p.age), attrs(p)]);
  }
  return table(rows);
}
