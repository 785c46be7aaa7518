/** Integer columns narrow to the smallest signed typed array that holds every value exactly. */
import { describe, expect, it } from 'vitest';
import { narrowIdColumn, narrowInts, narrowTrace, widestOf } from '../../src/model/columns.js';
import { buildTrace } from '../../src/model/build.js';

describe('narrowInts', () => {
  it.each([
    ['-1 .. 127', [-1, 0, 127], Int8Array], ['-128', [-128, 5], Int8Array],
    ['128', [0, 128], Int16Array], ['-129', [-129, 0], Int16Array], ['-32768 .. 32767', [-32768, 32767], Int16Array],
    ['32768', [1, 32768], Int32Array], ['-32769', [-32769], Int32Array], ['int32 extremes', [-(2 ** 31), 2 ** 31 - 1], Int32Array],
  ] as const)('%s: the narrowest array, every value the same', (_, values, Type) => {
    const col = Int32Array.from(values);
    const out = narrowInts(col);
    expect(out).toBeInstanceOf(Type);
    expect(Array.from(out)).toEqual(Array.from(values));
    if (Type === Int32Array) expect(out).toBe(col);
  });

  it('an empty column is an empty Int8Array; an Int8Array stays itself', () => {
    expect(narrowInts(new Int32Array(0))).toEqual(new Int8Array(0));
    const a = Int8Array.of(1, -1);
    expect(narrowInts(a)).toBe(a);
  });

  it('an Int16Array narrows further when it can', () => {
    expect(narrowInts(Int16Array.of(3, -2))).toEqual(Int8Array.of(3, -2));
  });

  it('id columns: exact doubles narrow through Int32Array, others stay Float64Array', () => {
    expect(narrowIdColumn(Float64Array.of(-1, -1))).toEqual(Int8Array.of(-1, -1));
    expect(narrowIdColumn(Float64Array.of(70000, 1))).toEqual(Int32Array.of(70000, 1));
    const big = Float64Array.of(2 ** 40, 1);
    expect(narrowIdColumn(big)).toBe(big);
    const frac = Float64Array.of(0.5);
    expect(narrowIdColumn(frac)).toBe(frac);
  });

  it('widestOf: a column type that holds the values of all', () => {
    expect(widestOf([Int8Array.of(1), Int16Array.of(300)])).toBe(Int16Array);
    expect(widestOf([Int8Array.of(1), Int32Array.of(1 << 20)])).toBe(Int32Array);
    expect(widestOf([Int8Array.of(1)])).toBe(Int8Array);
  });

  it('a built trace: every integer column narrowed, times and bytes untouched, values the same', () => {
    const t = buildTrace({
      kernels: [{ start: 0, end: 5, streamId: 300, correlationId: 1 << 20, name: 'k' }, { start: 6, end: 9, streamId: 7, correlationId: 2, name: 'j' }],
      runtime: [{ start: 0, end: 1, name: 'cudaLaunchKernel', correlationId: 1 << 20 }],
      memcpy: [{ start: 1, end: 2, bytes: 4, copyKind: 2, correlationId: 3 }],
    });
    expect(t.kernels.streamId).toEqual(Int16Array.of(300, 7));
    expect(t.kernels.correlationId).toEqual(Int32Array.of(1 << 20, 2));
    expect(t.kernels.deviceId).toEqual(Int8Array.of(0, 0));
    expect(t.kernels.graphNodeId).toEqual(Int8Array.of(-1, -1));
    expect(t.kernels.start).toEqual(Float64Array.of(0, 6));
    expect(t.runtime.name).toBeInstanceOf(Int8Array);
    expect(t.memcpy.correlationId).toEqual(Int8Array.of(3));
    expect(t.memcpy.bytes).toEqual(Float64Array.of(4));
    // narrowing again changes nothing
    const again = narrowTrace(t);
    expect(again.kernels.streamId).toBe(t.kernels.streamId);
  });
});
