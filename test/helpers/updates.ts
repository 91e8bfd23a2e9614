/** UPDATE messages as a neighbour would send them, for tests that play the neighbour. */
import { AsPathSegmentType, AttrFlag, encodeMessage, MessageType, Origin } from '../../bgp/codec';

export interface UpdateOptions {
  /** The sender's AS: first on the path. */
  asn: number;
  nextHop: string;
  /** AS path length: the sender's AS, then 100000, 100001, ... (4-octet ASNs). Default 1. */
  pathLength?: number;
}

/** One IPv4 UPDATE announcing `prefixes` (4-octet AS encoding). */
export function ipv4Update(prefixes: string[], o: UpdateOptions): Buffer {
  const asns = [o.asn, ...Array.from({ length: (o.pathLength ?? 1) - 1 }, (_, i) => 100000 + i)];
  const segments = [];
  for (let i = 0; i < asns.length; i += 255) segments.push({ type: AsPathSegmentType.AsSequence, asns: asns.slice(i, i + 255) });
  return encodeMessage(
    {
      type: MessageType.Update,
      withdrawn: [],
      nlri: prefixes,
      attributes: [
        { kind: 'origin', flags: AttrFlag.Transitive, origin: Origin.Igp },
        { kind: 'asPath', flags: AttrFlag.Transitive | AttrFlag.ExtendedLength, segments },
        { kind: 'nextHop', flags: AttrFlag.Transitive, nextHop: o.nextHop },
      ],
    },
    { as4: true },
  );
}
