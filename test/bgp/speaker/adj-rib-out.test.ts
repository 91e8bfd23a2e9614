import { AdjRibOut, advertised } from '../../../bgp/speaker/adj-rib-out';
import { prefixText } from '../../../net';
import { PrefixIndex } from '../../../bgp/rib/prefix-index';
import type { PathAttributes } from '../../../bgp/rib/path';

const attrs = (med: number): PathAttributes => ({ origin: 0, asPath: [], nextHop: '10.0.0.1', med });
const A = advertised(attrs(1));
const B = advertised(attrs(2));

/** Each Adj-RIB-Out with a numbering of its own (the speaker's is the RIB's). */
let ix: PrefixIndex;
const at = (prefix: string): number => ix.slot(prefix);
const adjRibOut = (): AdjRibOut => new AdjRibOut((ix = new PrefixIndex()));

/** What takeAll gives, with its prefixes as text (IPv4 comes out as numbers for the encoder). */
const taken = (out: AdjRibOut): { prefixes: string[]; advs: unknown[] } => {
  const t = out.takeAll();
  return { prefixes: t.prefixes.map(prefixText), advs: t.advs };
};

describe('Adj-RIB-Out', () => {
  it('queues changes in order and records them as sent when taken', () => {
    const out = adjRibOut();
    out.set(at('10.0.0.0/24'), A);
    out.set(at('10.0.1.0/24'), B);
    out.set(at('10.0.2.0/24'), undefined); // never sent: nothing to withdraw
    expect(taken(out)).toEqual({ prefixes: ['10.0.0.0/24', '10.0.1.0/24'], advs: [A, B] });
    expect(out.hasPending).toBe(false);
    expect(out.entries()).toEqual([
      ['10.0.0.0/24', A],
      ['10.0.1.0/24', B],
    ]);
    // What the peer already has costs nothing; a change and a withdrawal are queued.
    out.set(at('10.0.0.0/24'), advertised(attrs(1)));
    expect(out.hasPending).toBe(false);
    out.set(at('10.0.0.0/24'), B);
    out.set(at('10.0.1.0/24'), undefined);
    expect(taken(out)).toEqual({ prefixes: ['10.0.0.0/24', '10.0.1.0/24'], advs: [B, null] });
    expect(out.count()).toBe(1);
  });

  it('cancels a change that flaps back before it is sent', () => {
    const out = adjRibOut();
    out.set(at('10.0.0.0/24'), A);
    out.takeAll();
    out.set(at('10.0.0.0/24'), B);
    out.set(at('10.0.0.0/24'), A);
    out.set(at('10.0.1.0/24'), A);
    out.set(at('10.0.1.0/24'), undefined);
    expect(out.hasPending).toBe(false);
    expect(taken(out)).toEqual({ prefixes: [], advs: [] });
  });

  it('a prefix flapping many times between flushes is sent once, as it ends, and its slot let go after', () => {
    const out = adjRibOut();
    out.set(at('10.0.0.0/24'), A);
    out.takeAll();
    for (let i = 0; i < 1000; i++) {
      out.set(at('10.0.0.0/24'), B);
      out.set(at('10.0.0.0/24'), i % 2 ? undefined : A);
    }
    // Ends withdrawn (the last flap): one withdrawal; then back and forth to B: one announcement.
    expect(out.pendingCount).toBe(1);
    expect(taken(out)).toEqual({ prefixes: ['10.0.0.0/24'], advs: [null] });
    for (let i = 0; i < 1000; i++) {
      out.set(at('10.0.0.0/24'), B);
      out.set(at('10.0.0.0/24'), undefined);
    }
    out.set(at('10.0.0.0/24'), B);
    expect(taken(out)).toEqual({ prefixes: ['10.0.0.0/24'], advs: [B] });
    expect(out.entries()).toEqual([['10.0.0.0/24', B]]);
    // Nothing left over from the flaps: a withdrawal now is the only change.
    out.set(at('10.0.0.0/24'), undefined);
    expect(taken(out)).toEqual({ prefixes: ['10.0.0.0/24'], advs: [null] });
    // The session let the slot go, and nothing else held it.
    expect(ix.size).toBe(0);
    expect(out.count()).toBe(0);
  });

  it('compares a change with what was taken, even before it is on the wire', () => {
    const out = adjRibOut();
    out.set(at('10.0.0.0/24'), A);
    const first = out.takeAll();
    // Taken but still being sent in batches: setting it again must not queue a duplicate...
    out.set(at('10.0.0.0/24'), A);
    expect(out.hasPending).toBe(false);
    // ...while a later change is queued behind it.
    out.set(at('10.0.0.0/24'), undefined);
    expect(first.advs).toEqual([A]);
    expect(taken(out)).toEqual({ prefixes: ['10.0.0.0/24'], advs: [null] });
  });

  it('queues everything of a family again for a route refresh, keeping pending changes', () => {
    const out = adjRibOut();
    out.set(at('10.0.0.0/24'), A);
    out.set(at('fd00::/64'), A);
    out.takeAll();
    out.set(at('10.0.1.0/24'), B);
    out.resend('ipv4-unicast');
    expect(taken(out).prefixes.sort()).toEqual(['10.0.0.0/24', '10.0.1.0/24']);
  });
});

describe('Adj-RIB-Out: routes taken but not sent (they could not be encoded)', () => {
  it('forgets them as advertised, and keeps a later change queued against nothing sent', () => {
    const out = adjRibOut();
    out.set(at('10.0.0.0/24'), A);
    out.set(at('10.0.1.0/24'), A);
    out.set(at('10.0.2.0/24'), A);
    out.takeAll();
    expect(out.count()).toBe(3);
    // Changed again before the batch was found unsendable: one to B, one withdrawn.
    out.set(at('10.0.1.0/24'), B);
    out.set(at('10.0.2.0/24'), undefined);
    out.forget(['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24']);
    expect(out.count()).toBe(0);
    expect(out.entries()).toEqual([]);
    // B goes out; the withdrawal of what the peer never got is nothing to send.
    expect(taken(out)).toEqual({ prefixes: ['10.0.1.0/24'], advs: [B] });
    expect(out.count()).toBe(1);
    expect(out.hasPending).toBe(false);
  });

  it('counts what the peer was told while changes of it wait', () => {
    const out = adjRibOut();
    out.set(at('10.0.0.0/24'), A);
    out.set(at('fd00::/64'), A);
    expect(out.count()).toBe(0);
    out.takeAll();
    out.set(at('10.0.0.0/24'), B);
    out.set(at('fd00::/64'), undefined);
    expect(out.count('ipv4-unicast')).toBe(1);
    expect(out.count('ipv6-unicast')).toBe(1);
    expect(out.entries('ipv4-unicast')).toEqual([['10.0.0.0/24', A]]);
    out.takeAll();
    expect(out.count()).toBe(1);
    expect(out.count('ipv6-unicast')).toBe(0);
    expect(out.entries()).toEqual([['10.0.0.0/24', B]]);
  });
});
