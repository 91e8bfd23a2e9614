/** AS_PATH arithmetic: length for the decision process, prepending, loops, RFC 6793 merging. */
import { AsPathSegmentType } from '../codec/constants';
import type { AsPathSegment } from '../codec/attributes';

/** RFC 4271 9.1.2.2 (a): an AS_SET counts as 1, each ASN of an AS_SEQUENCE as 1. */
export function pathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) n += s.type === AsPathSegmentType.AsSet ? 1 : s.asns.length;
  return n;
}

export function containsAs(segments: readonly AsPathSegment[], asn: number): boolean {
  return segments.some((s) => s.asns.includes(asn));
}

/** RFC 4271 5.1.2: prepend our AS to the leftmost AS_SEQUENCE, or start a new one. */
export function prepend(segments: readonly AsPathSegment[], asn: number, times = 1): AsPathSegment[] {
  const add = new Array<number>(times).fill(asn);
  const first = segments[0];
  if (first && first.type === AsPathSegmentType.AsSequence && first.asns.length + times <= 255) {
    return [{ type: first.type, asns: [...add, ...first.asns] }, ...segments.slice(1)];
  }
  return [{ type: AsPathSegmentType.AsSequence, asns: add }, ...segments];
}

/** The leftmost ASN when the path starts with an AS_SEQUENCE (the neighbour AS). */
export function firstAs(segments: readonly AsPathSegment[]): number | undefined {
  const s = segments[0];
  return s && s.type === AsPathSegmentType.AsSequence ? s.asns[0] : undefined;
}

/**
 * RFC 6793 4.2.3: rebuild the real path from a 2-octet AS_PATH and an AS4_PATH. When AS_PATH is
 * shorter than AS4_PATH the AS4_PATH is ignored; otherwise the leading part of AS_PATH that
 * AS4_PATH lacks (ASes added by 2-octet-only speakers) is put in front of AS4_PATH.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  const extra = pathLength(asPath) - pathLength(as4Path);
  if (extra < 0) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const lead: AsPathSegment[] = [];
  let need = extra;
  for (const s of asPath) {
    if (need <= 0) break;
    if (s.type === AsPathSegmentType.AsSet) {
      lead.push({ type: s.type, asns: [...s.asns] });
      need -= 1;
    } else {
      const take = s.asns.slice(0, need);
      lead.push({ type: s.type, asns: take });
      need -= take.length;
    }
  }
  const merged = [...lead, ...as4Path.map((s) => ({ type: s.type, asns: [...s.asns] }))];
  // Join the seam when two sequences meet, so the result reads as one path.
  const out: AsPathSegment[] = [];
  for (const s of merged) {
    const last = out[out.length - 1];
    if (
      last &&
      last.type === AsPathSegmentType.AsSequence &&
      s.type === AsPathSegmentType.AsSequence &&
      last.asns.length + s.asns.length <= 255
    ) {
      last.asns.push(...s.asns);
    } else out.push(s);
  }
  return out;
}

/** "65001 65002 {65100,65101}", as gobgp and birdc print paths. */
export function formatAsPath(segments: readonly AsPathSegment[]): string {
  return segments
    .map((s) => (s.type === AsPathSegmentType.AsSet ? `{${s.asns.join(',')}}` : s.asns.join(' ')))
    .filter((x) => x.length > 0)
    .join(' ');
}

/** True when any ASN needs 4 octets (then a 2-octet peer also gets AS4_PATH). */
export function needsAs4(segments: readonly AsPathSegment[]): boolean {
  return segments.some((s) => s.asns.some((a) => a > 0xffff));
}
