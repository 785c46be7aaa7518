/** The histogram's bins from tables: gapBin's bin for every length, with no log10 for integers. */
import { describe, expect, it } from 'vitest';
import { gapBin, gapBinOf } from '../../src/analyses/launch-gaps.js';

describe('gapBinOf', () => {
  it('is gapBin for every integer length to 200k', () => {
    for (let d = 1; d <= 200_000; d++) if (gapBinOf(d) !== gapBin(d)) expect([d, gapBinOf(d)]).toEqual([d, gapBin(d)]);
  });

  it('is gapBin next to every bin start and every power of two below 2^40, and beyond', () => {
    const at: number[] = [];
    for (let k = 0; k <= 52; k++) {
      const x = Math.round(10 ** (k / 4));
      for (let j = -3; j <= 3; j++) at.push(x + j);
    }
    for (let e = 0; e <= 42; e++) for (let j = -2; j <= 2; j++) at.push(2 ** e + j);
    for (const d of at) if (d > 0) expect([d, gapBinOf(d)]).toEqual([d, gapBin(d)]);
  });

  it('is gapBin for random integers of every size, fractions and huge lengths', () => {
    let seed = 3;
    const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 4294967296; };
    for (let i = 0; i < 20_000; i++) {
      const d = Math.floor(2 ** (rnd() * 44)) + 1;
      expect(gapBinOf(d)).toBe(gapBin(d));
    }
    for (const d of [0.001, 0.5, 0.999, 1.5, 17.25, 1e6 + 0.5, 2 ** 40, 2 ** 40 + 1, 1e15, 1e300, Number.MAX_VALUE, Number.MIN_VALUE]) {
      expect(gapBinOf(d)).toBe(gapBin(d));
    }
  });
});
