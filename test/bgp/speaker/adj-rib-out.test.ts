import { AdjRibOut, advertised } from '../../../bgp/speaker/adj-rib-out';
import type { PathAttributes } from '../../../bgp/rib/path';

const attrs = (med: number): PathAttributes => ({ origin: 0, asPath: [], nextHop: '10.0.0.1', med });
const A = advertised(attrs(1));
const B = advertised(attrs(2));

describe('Adj-RIB-Out', () => {
  it('queues changes in order and records them as sent when taken', () => {
    const out = new AdjRibOut();
    out.set('10.0.0.0/24', A);
    out.set('10.0.1.0/24', B);
    out.set('10.0.2.0/24', undefined); // never sent: nothing to withdraw
    expect(out.takeAll()).toEqual({ prefixes: ['10.0.0.0/24', '10.0.1.0/24'], advs: [A, B] });
    expect(out.hasPending).toBe(false);
    expect(out.entries()).toEqual([
      ['10.0.0.0/24', A],
      ['10.0.1.0/24', B],
    ]);
    // What the peer already has costs nothing; a change and a withdrawal are queued.
    out.set('10.0.0.0/24', advertised(attrs(1)));
    expect(out.hasPending).toBe(false);
    out.set('10.0.0.0/24', B);
    out.set('10.0.1.0/24', undefined);
    expect(out.takeAll()).toEqual({ prefixes: ['10.0.0.0/24', '10.0.1.0/24'], advs: [B, null] });
    expect(out.count()).toBe(1);
  });

  it('cancels a change that flaps back before it is sent', () => {
    const out = new AdjRibOut();
    out.set('10.0.0.0/24', A);
    out.takeAll();
    out.set('10.0.0.0/24', B);
    out.set('10.0.0.0/24', A);
    out.set('10.0.1.0/24', A);
    out.set('10.0.1.0/24', undefined);
    expect(out.hasPending).toBe(false);
    expect(out.takeAll()).toEqual({ prefixes: [], advs: [] });
  });

  it('compares a change with what was taken, even before it is on the wire', () => {
    const out = new AdjRibOut();
    out.set('10.0.0.0/24', A);
    const first = out.takeAll();
    // Taken but still being sent in batches: setting it again must not queue a duplicate...
    out.set('10.0.0.0/24', A);
    expect(out.hasPending).toBe(false);
    // ...while a later change is queued behind it.
    out.set('10.0.0.0/24', undefined);
    expect(first.advs).toEqual([A]);
    expect(out.takeAll()).toEqual({ prefixes: ['10.0.0.0/24'], advs: [null] });
  });

  it('queues everything of a family again for a route refresh, keeping pending changes', () => {
    const out = new AdjRibOut();
    out.set('10.0.0.0/24', A);
    out.set('fd00::/64', A);
    out.takeAll();
    out.set('10.0.1.0/24', B);
    out.resend('ipv4-unicast');
    expect(out.takeAll().prefixes.sort()).toEqual(['10.0.0.0/24', '10.0.1.0/24']);
  });
});
