import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonText } from '../../src/render/json.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

// relative, as the other files name them: their Reports are shared (helpers/fixture-reports.ts)
const FIXTURES = 'fixtures/nsys-2025.3/';
const text = (v: unknown, batch?: number): string => [...jsonText(v, batch, 0)].join('');

describe('jsonText', () => {
  it('gives exactly JSON.stringify(value, null, 2) plus a newline, long arrays included', () => {
    const long = Array.from({ length: 1000 }, (_, i) => ({ start: i, end: i + 0.5, class: 'gpu-side', syncCall: i % 2 ? undefined : 'cudaFree' }));
    const value = {
      a: [], b: {}, c: null, d: undefined, e: NaN, f: 'x"\n', g: [1, undefined, () => 1], nested: { gaps: { gaps: long, all: { count: 1 } } },
      many: Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? [i, [i]] : i % 3 === 1 ? { k: [] } : 'v')),
    };
    for (const batch of [1, 64, 1 << 20]) expect(text(value, batch)).toBe(`${JSON.stringify(value, null, 2)}\n`);
  });

  it('writes every fixture report byte for byte as JSON.stringify does', () => {
    for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.sqlite'))) {
      const report = fixtureReport(`${FIXTURES}${f}`);
      expect(text(report)).toBe(`${JSON.stringify(report, null, 2)}\n`);
    }
    // every fixture's report, what-if replays included: seconds on a loaded 2-core machine
  }, 60_000);

  it('yields pieces of about the batch size, never the whole long array at once', () => {
    const value = { xs: Array.from({ length: 100_000 }, (_, i) => ({ i })) };
    const whole = JSON.stringify(value, null, 2).length;
    const pieces = [...jsonText(value, 4096, 0)];
    expect([...jsonText(value, 4096)]).toEqual([`${JSON.stringify(value, null, 2)}\n`]);
    // each piece: the batch plus at most one run of 1024 elements (~25 characters each here)
    expect(pieces.length).toBeGreaterThan(50);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(4096 + 1024 * 30);
    expect(whole).toBeGreaterThan(2_000_000);
  });
});
