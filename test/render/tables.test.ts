/** Table helpers: distinct shortened names, percent formats whose ticks differ. */
import { describe, expect, it } from 'vitest';
import { distinctNames } from '../../src/render/tables.js';
import { percentFormat } from '../../src/render/html/specs.js';

describe('distinctNames', () => {
  it('drops the argument list first and keeps short names whole', () => {
    expect(distinctNames(['relu(float*, int)', 'gemm'], 20)).toEqual(['relu', 'gemm']);
  });
  it('keeps two long template names apart where they differ (the end), never the same text twice', () => {
    const a = `void cutlass::Kernel<cutlass::gemm::GemmUniversal<${'x'.repeat(80)}, Tile<128, 128>>>(Params)`;
    const b = `void cutlass::Kernel<cutlass::gemm::GemmUniversal<${'x'.repeat(80)}, Tile<64, 256>>>(Params)`;
    const out = distinctNames([a, b], 60);
    expect(out[0]).not.toBe(out[1]);
    for (const o of out) expect(o.length).toBeLessThanOrEqual(60);
    expect(out[0].startsWith('void cutlass::Kernel<')).toBe(true);
    expect(out[0].endsWith('<128, 128>>>')).toBe(true);
    expect(out[1].endsWith('<64, 256>>>')).toBe(true);
  });
  it('numbers names that stay equal however they are cut', () => {
    const n = `k<${'y'.repeat(100)}>`;
    expect(new Set(distinctNames([`${n}(int)`, `${n}(float)`], 30)).size).toBe(2);
  });
});

describe('percentFormat', () => {
  it('gives ticks a fifth of the axis apart enough decimals to differ', () => {
    expect(percentFormat(0.004)).toBe('.2~%');
    expect(percentFormat(0.012)).toBe('.1~%');
    expect(percentFormat(0.9)).toBe('.0~%');
    expect(percentFormat(0)).toBe('.0~%');
  });
});
