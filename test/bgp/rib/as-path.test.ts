import { mergeAs4Path, pathLength, prepend, formatAsPath, firstAs } from '../../../bgp/rib/as-path';

const seq = (...asns: number[]) => ({ type: 2 as const, asns });
const set = (...asns: number[]) => ({ type: 1 as const, asns });

describe('AS path', () => {
  it('counts an AS_SET as one (RFC 4271 9.1.2.2)', () => expect(pathLength([seq(1, 2), set(3, 4, 5)])).toBe(3));
  it('prepends into the leading sequence or starts one', () => {
    expect(prepend([seq(2, 3)], 1)).toEqual([seq(1, 2, 3)]);
    expect(prepend([set(2, 3)], 1)).toEqual([seq(1), set(2, 3)]);
    expect(prepend([], 1, 3)).toEqual([seq(1, 1, 1)]);
    expect(prepend([seq(...new Array(255).fill(7))], 1)).toHaveLength(2);
  });
  it('formats like gobgp', () => expect(formatAsPath([seq(65001, 65002), set(1, 2)])).toBe('65001 65002 {1,2}'));
  it('finds the neighbour AS only at the head of a sequence', () => {
    expect(firstAs([seq(5, 6)])).toBe(5);
    expect(firstAs([set(5, 6)])).toBeUndefined();
  });

  describe('RFC 6793 4.2.3 merge', () => {
    it('replaces AS_TRANS with the real ASNs', () => {
      expect(mergeAs4Path([seq(65002, 23456)], [seq(4200000001)])).toEqual([seq(65002, 4200000001)]);
    });
    it('keeps ASes prepended by 2-octet speakers after the AS4_PATH was made', () => {
      expect(mergeAs4Path([seq(100, 200, 23456, 23456)], [seq(4200000001, 4200000002)])).toEqual([seq(100, 200, 4200000001, 4200000002)]);
    });
    it('ignores an AS4_PATH longer than the AS_PATH', () => {
      expect(mergeAs4Path([seq(23456)], [seq(1, 2, 3)])).toEqual([seq(23456)]);
    });
    it('keeps sets from the AS4_PATH', () => {
      expect(mergeAs4Path([seq(100, 23456), set(23456, 300)], [seq(4200000001), set(4200000002, 300)])).toEqual([
        seq(100, 4200000001),
        set(4200000002, 300),
      ]);
    });
  });
});
