/**
 * Prefix slots shared by the RIB and the Adj-RIBs-Out: a slot lives while the RIB or any
 * session holds its prefix, is given to the next new prefix after, and nothing a session was
 * told is lost or misnamed when slots are reused.
 */
import { PrefixIndex } from '../../../bgp/rib/prefix-index';
import { ipv4PrefixKey, prefixText } from '../../../net';
import { Rib, BestChange } from '../../../bgp/rib/rib';
import type { PathAttributes, PeerRef } from '../../../bgp/rib/path';
import { AdjRibOut, advertised } from '../../../bgp/speaker/adj-rib-out';

const peer: PeerRef = { address: '192.0.2.1', asn: 65001, routerId: '192.0.2.1', ibgp: false };
const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.1' };
const adv = advertised(attrs);

/** What takeAll gives, with its prefixes as text (IPv4 comes out as numbers for the encoder). */
const taken = (out: AdjRibOut): { prefixes: string[]; advs: unknown[] } => {
  const t = out.takeAll();
  return { prefixes: t.prefixes.map(prefixText), advs: t.advs };
};

/** A RIB and one session's Adj-RIB-Out fed from its changes, as the speaker wires them. */
function wired(): { rib: Rib; out: AdjRibOut } {
  const rib = new Rib(65000);
  const out = new AdjRibOut(rib.prefixes);
  rib.on('changes', (cs: BestChange[]) => {
    for (const c of cs) out.set(c.slot, c.best ? adv : undefined);
  });
  return { rib, out };
}

describe('PrefixIndex', () => {
  it('numbers a prefix once, keeps it while held and gives the slot to the next new prefix', () => {
    const ix = new PrefixIndex();
    const a = ix.slot('10.0.0.0/24');
    expect(ix.slot('10.0.0.0/24')).toBe(a);
    ix.retain(a);
    ix.retain(a);
    const b = ix.slot('10.0.1.0/24');
    ix.retain(b);
    expect(b).not.toBe(a);
    ix.release(a);
    expect(ix.find('10.0.0.0/24')).toBe(a);
    ix.release(a);
    expect(ix.find('10.0.0.0/24')).toBeUndefined();
    expect(ix.size).toBe(1);
    expect(ix.slot('10.0.2.0/24')).toBe(a);
    expect(ix.prefix(a)).toBe('10.0.2.0/24');
    expect(ix.prefix(b)).toBe('10.0.1.0/24');
  });
  it('keeps IPv4 (looked up by number), IPv6 and any other text apart, and frees each from its own table', () => {
    const ix = new PrefixIndex();
    const texts = ['10.0.0.0/24', '10.0.0.0/25', '10.0.0.7/24', 'fd00::/64', '::ffff:10.0.0.0/120', '010.0.0.0/24'];
    const slots = texts.map((t) => ix.slot(t));
    for (const s of slots) ix.retain(s);
    expect(new Set(slots).size).toBe(texts.length);
    texts.forEach((t, i) => {
      expect(ix.find(t)).toBe(slots[i]);
      expect(ix.prefix(slots[i]!)).toBe(t);
    });
    // Toward the wire, strict IPv4 as its number, the rest as text.
    expect(slots.map((s) => ix.keyOf(s))).toEqual([
      ipv4PrefixKey('10.0.0.0/24'),
      ipv4PrefixKey('10.0.0.0/25'),
      ipv4PrefixKey('10.0.0.7/24'),
      'fd00::/64',
      '::ffff:10.0.0.0/120',
      '010.0.0.0/24',
    ]);
    expect(ix.size).toBe(texts.length);
    for (const s of slots) ix.release(s);
    for (const t of texts) expect(ix.find(t)).toBeUndefined();
    expect(ix.size).toBe(0);
  });
});

describe('slots between the RIB and an Adj-RIB-Out', () => {
  it('a prefix withdrawn from the RIB keeps its slot until the session has taken the withdrawal', () => {
    const { rib, out } = wired();
    rib.apply(peer, [{ prefixes: ['10.0.0.0/24'], attrs }]);
    out.takeAll();
    rib.apply(peer, [{ prefixes: ['10.0.0.0/24'], attrs: undefined }]);
    // The RIB let go; the session still has to tell the peer.
    expect(rib.prefixes.find('10.0.0.0/24')).toBeDefined();
    // A new prefix must not get that slot meanwhile.
    rib.apply(peer, [{ prefixes: ['10.0.9.0/24'], attrs }]);
    expect(taken(out)).toEqual({ prefixes: ['10.0.0.0/24', '10.0.9.0/24'], advs: [null, adv] });
    expect(rib.prefixes.find('10.0.0.0/24')).toBeUndefined();
    expect(rib.prefixes.size).toBe(1);
    expect(out.entries()).toEqual([['10.0.9.0/24', adv]]);
  });

  it('a slot freed and numbered again in one UPDATE: the session is told of the new prefix only', () => {
    // Export denies 10.0.2.0/24 to this session, so only the RIB holds its slot.
    const rib = new Rib(65000);
    const out = new AdjRibOut(rib.prefixes);
    rib.on('changes', (cs: BestChange[]) => {
      for (const c of cs) out.set(c.slot, c.best && c.prefix !== '10.0.2.0/24' ? adv : undefined);
    });
    rib.apply(peer, [{ prefixes: ['10.0.0.0/24'], attrs }]);
    rib.apply(peer, [{ prefixes: ['10.0.1.0/24'], attrs }]);
    rib.apply(peer, [{ prefixes: ['10.0.2.0/24'], attrs }]);
    out.takeAll();
    const freed = rib.prefixes.find('10.0.2.0/24')!;
    const changes = rib.apply(peer, [
      { prefixes: ['10.0.2.0/24'], attrs: undefined },
      { prefixes: ['10.0.3.0/24'], attrs },
    ]);
    // The withdrawal freed the slot inside the UPDATE and 10.0.3.0/24 took it: the session
    // (which never had 10.0.2.0/24) is asked to withdraw the slot first, which is nothing to it.
    expect(changes.map((c) => [c.prefix, c.slot])).toEqual([
      ['10.0.2.0/24', freed],
      ['10.0.3.0/24', freed],
    ]);
    expect(taken(out)).toEqual({ prefixes: ['10.0.3.0/24'], advs: [adv] });
    expect(out.entries().map(([p]) => p)).toEqual(['10.0.0.0/24', '10.0.1.0/24', '10.0.3.0/24']);
    expect(out.count()).toBe(3);
  });

  it('a peer churning through distinct prefixes reuses the numbering: it stays as large as the most held at once', () => {
    const { rib, out } = wired();
    let highest = -1;
    rib.on('changes', (cs: BestChange[]) => {
      for (const c of cs) highest = Math.max(highest, c.slot);
    });
    for (let cycle = 0; cycle < 20; cycle++) {
      const prefixes = Array.from({ length: 500 }, (_, i) => `10.${cycle}.${i >> 8}.${i & 255}/32`);
      rib.apply(
        peer,
        prefixes.map((prefix) => ({ prefixes: [prefix], attrs })),
      );
      out.takeAll();
      rib.apply(
        peer,
        prefixes.map((prefix) => ({ prefixes: [prefix], attrs: undefined })),
      );
      out.takeAll();
    }
    expect(rib.prefixes.size).toBe(0);
    expect(highest).toBeLessThan(500);
  });

  it('one prefix at a high slot (what a node tells each of thousands of peers): counted and listed', () => {
    const rib = new Rib(65000);
    for (let i = 0; i < 5000; i++) rib.apply(peer, [{ prefixes: [`10.${i >> 8}.${i & 255}.0/24`], attrs }]);
    rib.apply(undefined, [{ prefixes: ['10.244.0.0/24'], attrs: { origin: 0, asPath: [], nextHop: '' } }]);
    const out = new AdjRibOut(rib.prefixes);
    out.set(rib.prefixes.find('10.244.0.0/24')!, adv);
    out.takeAll();
    expect(out.count()).toBe(1);
    expect(out.count('ipv4-unicast')).toBe(1);
    expect(out.count('ipv6-unicast')).toBe(0);
    expect(out.entries()).toEqual([['10.244.0.0/24', adv]]);
    out.resend('ipv4-unicast');
    expect(taken(out).prefixes).toEqual(['10.244.0.0/24']);
  });

  it('a session that goes away with its Adj-RIB-Out keeps nothing numbered once the RIB is empty', () => {
    const { rib, out } = wired();
    for (let i = 0; i < 100; i++) rib.apply(peer, [{ prefixes: [`10.0.${i}.0/24`], attrs }]);
    out.takeAll();
    // Told 100, 50 more queued, when the session ends.
    for (let i = 100; i < 150; i++) rib.apply(peer, [{ prefixes: [`10.0.${i}.0/24`], attrs }]);
    out.close();
    expect(out.count()).toBe(0);
    expect(out.hasPending).toBe(false);
    rib.removeSource(peer.address);
    expect(rib.prefixes.size).toBe(0);
  });

  it('a session that ends and one that goes on: only the ended one lets go', () => {
    const rib = new Rib(65000);
    const ended = new AdjRibOut(rib.prefixes);
    const on = new AdjRibOut(rib.prefixes);
    rib.on('changes', (cs: BestChange[]) => {
      for (const c of cs) for (const o of [ended, on]) o.set(c.slot, c.best ? adv : undefined);
    });
    for (let i = 0; i < 10; i++) rib.apply(peer, [{ prefixes: [`10.0.${i}.0/24`], attrs }]);
    ended.takeAll();
    on.takeAll();
    ended.close();
    rib.removeSource(peer.address);
    // The session that goes on still has ten withdrawals to send: their prefixes stay numbered.
    expect(rib.prefixes.size).toBe(10);
    expect(on.takeAll().advs).toEqual(new Array(10).fill(null));
    expect(rib.prefixes.size).toBe(0);
  });
});
