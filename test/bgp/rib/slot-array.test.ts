/**
 * The chunked array the RIB and the prefix index keep by slot: reads and writes across chunk
 * boundaries, and a walk in slot order that skips what is empty.
 */
import { SlotArray } from '../../../bgp/rib/slot-array';

describe('SlotArray', () => {
  it('reads back what was set, across chunks, and undefined elsewhere', () => {
    const a = new SlotArray<string>();
    const slots = [0, 1, 1023, 1024, 1025, 5000, 100000];
    for (const s of slots) a.set(s, `v${s}`);
    for (const s of slots) expect(a.get(s)).toBe(`v${s}`);
    for (const s of [2, 1022, 1026, 4999, 99999, 100001, 2 ** 20]) expect(a.get(s)).toBeUndefined();
    a.set(1024, undefined);
    expect(a.get(1024)).toBeUndefined();
    expect(a.get(1025)).toBe('v1025');
  });

  it('walks the slots that hold something, lowest first', () => {
    const a = new SlotArray<number>();
    for (const s of [70000, 3, 1024, 0, 2047]) a.set(s, s * 2);
    a.set(3, undefined);
    expect([...a.entries()]).toEqual([
      [0, 0],
      [1024, 2048],
      [2047, 4094],
      [70000, 140000],
    ]);
    // Zero is a value, not a hole.
    a.set(5, 0);
    expect(a.get(5)).toBe(0);
    expect([...a.entries()][1]).toEqual([5, 0]);
  });

  it('clearing a slot that was never set leaves nothing behind', () => {
    const a = new SlotArray<number>();
    a.set(50000, undefined);
    expect(a.get(50000)).toBeUndefined();
    expect([...a.entries()]).toEqual([]);
    a.set(1, 1);
    expect([...a.entries()]).toEqual([[1, 1]]);
  });
});
