/**
 * A first table's work, done before the speaker listens: a synthetic table goes through a
 * throwaway speaker over two in-memory sessions (no sockets, no kernel, nothing leaves the
 * process), so that V8 has optimized the UPDATE path (framing, decoding, import, the RIB, the
 * Adj-RIB-Out, packing) before the first real table arrives. Cold, a first full table costs as
 * much CPU in V8's optimizing compiler, on the same two cores, as in our own code
 * (docs/benchmarks.md, "2026-12-04"); a restarted speaker gets its peers' tables at once, which
 * is when that is paid.
 *
 * The table is varied on purpose, so that the compiled code is not specialised to one shape
 * real tables lack: packed and one-route UPDATEs, two prefix lengths, several attribute sets,
 * IPv6 through MP_REACH_NLRI, then withdrawals. Its addresses are from the ranges for
 * benchmarking (RFC 2544, 198.18.0.0/15), shared address space (RFC 6598) and documentation
 * (RFC 5737, RFC 3849).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { FAMILIES } from '../codec/constants';
import type { CodecContext } from '../codec/attributes';
import type { PathAttributes } from '../rib/path';
import { MemoryTransport, establishInMemory } from '../session/memory-transport';
import { buildOpen } from '../session/negotiate';
import { silentLogger } from '../log';
import { Speaker, type NeighborInput } from './speaker';
import { buildAnnouncements, buildWithdrawals } from './update-builder';

const LOCAL = { asn: 64512, routerId: '192.0.2.1' };
const SENDER = { address: '192.0.2.2', asn: 65001 };
// Our IPv6 next hop toward it: the session runs over IPv4.
const RECEIVER = { address: '192.0.2.3', asn: 65002, nextHopIpv6: '2001:db8::1' };
/** Bytes handed to the session per read, as a socket would (its reads are 64 KiB). */
const READ_BYTES = 65536;
/** Event-loop turns to wait for the outbound side to finish after the last read. */
const MAX_TURNS = 2000;

export interface WarmUpResult {
  /** Route announcements sent through the throwaway speaker. */
  routes: number;
  ms: number;
}

/** A route count split over the table's parts: packed IPv4, one route per UPDATE, IPv6. */
function parts(routes: number): { packed: number; single: number; v6: number } {
  const single = Math.floor(routes / 5);
  const v6 = Math.floor(routes / 5);
  return { packed: routes - single - v6, single, v6 };
}

const ipv4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
/** The i-th prefix of a /len block that starts at `base` (wrapping inside the block). */
const nth = (base: number, len: number, blockLen: number, i: number): string =>
  `${ipv4((base + ((i % 2 ** (len - blockLen)) << (32 - len))) >>> 0)}/${len}`;
const BENCH = 0xc6120000; // 198.18.0.0/15
const SHARED = 0x64400000; // 100.64.0.0/10

/** The UPDATEs of the synthetic table, in the order they are sent. */
export function warmUpTable(routes: number, ctx: CodecContext): Buffer[] {
  const { packed, single, v6 } = parts(routes);
  const path = (asns: number[]): PathAttributes['asPath'] => [{ type: 2, asns: [SENDER.asn, ...asns] }];
  // Four attribute sets, each with a quarter of the packed routes: /32s and /24s in turn.
  const sets: PathAttributes[] = [
    { origin: 0, asPath: path([]), nextHop: SENDER.address },
    { origin: 0, asPath: path([65100, 65101]), nextHop: SENDER.address, med: 10 },
    { origin: 1, asPath: path([65200]), nextHop: SENDER.address, communities: [(SENDER.asn << 16) | 100, (SENDER.asn << 16) | 200] },
    { origin: 2, asPath: path([65300, 65301, 65302]), nextHop: SENDER.address, largeCommunities: [[SENDER.asn, 1, 2]] },
  ];
  const packedPrefixes = Array.from({ length: packed }, (_, i) => (i % 2 ? nth(SHARED, 24, 10, i >> 1) : nth(BENCH, 32, 16, i >> 1)));
  const messages: Buffer[] = [];
  sets.forEach((attrs, k) =>
    messages.push(
      ...buildAnnouncements(
        'ipv4-unicast',
        attrs,
        packedPrefixes.filter((_, i) => i % 4 === k),
        ctx,
      ),
    ),
  );
  // A MED each: one route per UPDATE, an attribute set per route.
  for (let i = 0; i < single; i++) {
    messages.push(...buildAnnouncements('ipv4-unicast', { ...sets[0]!, med: i }, [nth(BENCH + 65536, 32, 16, i)], ctx));
  }
  const v6Prefixes = Array.from({ length: v6 }, (_, i) => `2001:db8:${(i >> 8).toString(16)}:${(i & 255).toString(16)}00::/56`);
  messages.push(...buildAnnouncements('ipv6-unicast', { ...sets[1]!, nextHop: '2001:db8::2' }, v6Prefixes, ctx));
  messages.push(...buildWithdrawals('ipv4-unicast', packedPrefixes, ctx));
  return messages;
}

/** Brings a passive neighbour of `speaker` to Established over a new in-memory transport. */
function establish(speaker: Speaker, neighbor: NeighborInput): MemoryTransport {
  const peer = speaker.addNeighbor({ ...neighbor, passive: true, families: [...FAMILIES] });
  const t = new MemoryTransport();
  t.localAddress = LOCAL.routerId;
  t.remoteAddress = neighbor.address;
  establishInMemory(peer, t, buildOpen({ asn: neighbor.asn, routerId: neighbor.address, holdTime: 90, families: FAMILIES }));
  return t;
}

/**
 * Sends a synthetic table of about `routes` routes through a throwaway speaker and waits until
 * it has passed them on to its second session; then drops it. Yields to the event loop between
 * reads, as a socket would.
 */
export async function warmUp(routes: number): Promise<WarmUpResult> {
  const started = performance.now();
  const speaker = new Speaker({ ...LOCAL, listen: false, log: silentLogger });
  try {
    const from = establish(speaker, SENDER);
    const to = establish(speaker, RECEIVER);
    const table = warmUpTable(routes, { as4: true });
    for (let i = 0; i < table.length;) {
      const read: Buffer[] = [];
      for (let bytes = 0; i < table.length && bytes < READ_BYTES; i++) {
        read.push(table[i]!);
        bytes += table[i]!.length;
      }
      from.push(Buffer.concat(read));
      await nextTurn();
    }
    // Done when the receiving side has stopped getting bytes for a few turns.
    for (let turns = 0, quiet = 0, last = -1; turns < MAX_TURNS && quiet < 3; turns++) {
      quiet = to.bytesWritten === last ? quiet + 1 : 0;
      last = to.bytesWritten;
      await nextTurn();
    }
    const { single, v6 } = parts(routes);
    const expected = single + v6;
    const sent = speaker.advertisedCount(RECEIVER.address);
    if (sent !== expected) throw new Error(`warm-up speaker advertised ${sent} routes, expected ${expected}`);
    return { routes, ms: performance.now() - started };
  } finally {
    await speaker.stop();
  }
}
