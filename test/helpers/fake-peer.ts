/**
 * A neighbor driven by hand over an in-memory transport: accept, OPEN, KEEPALIVE, and the
 * session is Established without sockets or timers. Shared by the fuzz and hostile-peer tests.
 */
import type { Speaker } from '../../bgp/speaker/speaker';
import type { Family } from '../../bgp/codec/constants';
import { buildOpen } from '../../bgp/session/negotiate';
import type { Capability } from '../../bgp/codec/capabilities';
import { establishInMemory } from '../../bgp/session/memory-transport';
import { FakeTransport } from '../bgp/fuzz/fake-transport';

export interface FakePeerOptions {
  address: string;
  asn: number;
  routerId?: string;
  families?: Family[];
  /** Advertise 4-octet AS support (default true). */
  as4?: boolean;
  gracefulRestart?: { restartTime: number; restarting: boolean; preserved: boolean };
  /** More capabilities to offer, after those of buildOpen. */
  extraCapabilities?: Capability[];
}

/** Brings the configured neighbor `o.address` to Established over a new fake transport. */
export function establishFake(speaker: Speaker, o: FakePeerOptions): FakeTransport {
  const peer = speaker.peers.get(o.address);
  if (!peer) throw new Error(`no neighbor ${o.address}`);
  const t = new FakeTransport();
  t.remoteAddress = o.address;
  const open = buildOpen({
    asn: o.asn,
    routerId: o.routerId ?? o.address,
    holdTime: 90,
    families: o.families ?? ['ipv4-unicast', 'ipv6-unicast'],
    ...(o.gracefulRestart ? { gracefulRestart: o.gracefulRestart } : {}),
  });
  open.capabilities.push(...(o.extraCapabilities ?? []));
  if (o.as4 === false) {
    open.capabilities = open.capabilities.filter((c) => c.kind !== 'fourOctetAs');
    if (o.asn > 0xffff) throw new Error('a 2-octet-AS peer needs an AS below 65536');
  }
  establishInMemory(peer, t, open);
  return t;
}
