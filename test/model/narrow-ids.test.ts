/** Id columns narrow to Int32Array only when every value reads back exactly. */
import { describe, expect, it } from 'vitest';
import { narrowIds } from '../../src/model/build.js';

describe('narrowIds', () => {
  it('narrows integers within int32, keeping length and values', () => {
    const ids = Float64Array.of(-1, 0, 1, 2 ** 31 - 1, -(2 ** 31));
    const out = narrowIds(ids);
    expect(out).toBeInstanceOf(Int32Array);
    expect(Array.from(out)).toEqual([-1, 0, 1, 2 ** 31 - 1, -(2 ** 31)]);
  });

  it.each([
    ['2^31', 2 ** 31], ['-2^31 - 1', -(2 ** 31) - 1], ['2^33 (a graph node id)', 2 ** 33 + 5], ['a fraction', 1.5], ['NaN', NaN], ['-0', -0],
  ])('keeps the Float64Array when a value is %s', (_, v) => {
    const ids = Float64Array.of(1, v, 3);
    expect(narrowIds(ids)).toBe(ids);
  });

  it('an empty column narrows to an empty Int32Array', () => {
    expect(narrowIds(new Float64Array(0))).toEqual(new Int32Array(0));
  });
});
