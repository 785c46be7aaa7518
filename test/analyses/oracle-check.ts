/**
 * An independent oracle on every real capture: kernels read with plain SQL and a naive sweep
 * written here, compared number for number with what the analyzer reports. Nothing is shared
 * with src/ but the file. npm test checks nsys-2025.3 (tokens-64k too) and one -profile capture
 * (oracle.test.ts), npm run test:long the other -profile captures (oracle.long.test.ts).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildReport } from '../../src/report/build.js';

export const files = ['fixtures/nsys-2025.3', 'fixtures/nsys-2025.3-profile', 'fixtures/nsys-2025.3/tokens-64k']
  .flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.sqlite')).map((f) => join(d, f)));
/** The files npm test checks: all but the -profile captures, and one of those. */
export const inFastSample = (file: string): boolean => !file.includes('-profile/') || file.endsWith('-profile/streams-sync.sqlite');

interface Expected { busy: number; kernelTime: number; levels: number[]; gaps: number; streamBusy: Map<number, number>; pairs: number; w: number }

function oracle(file: string): Expected {
  const db = new Database(file, { readonly: true });
  const rows = db.prepare('SELECT start, end, streamId FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE deviceId = 0').all() as { start: number; end: number; streamId: number }[];
  db.close();
  const w0 = Math.min(...rows.map((r) => r.start));
  const w1 = Math.max(...rows.map((r) => r.end));
  // naive sweep: +1 at each start, -1 at each end, ends before starts at equal times
  const events = rows.flatMap((r) => [[r.start, 1], [r.end, -1]] as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const levels: number[] = [];
  let n = 0;
  let t = w0;
  for (const [time, d] of events) {
    if (time > t) levels[n] = (levels[n] ?? 0) + time - t;
    n += d;
    t = time;
  }
  const unionOf = (rs: { start: number; end: number }[]): [number, number][] => {
    const sorted = [...rs].sort((a, b) => a.start - b.start);
    const out: [number, number][] = [];
    for (const r of sorted) {
      const last = out[out.length - 1];
      if (last && r.start <= last[1]) last[1] = Math.max(last[1], r.end);
      else out.push([r.start, r.end]);
    }
    return out.filter(([s, e]) => e > s);
  };
  const all = unionOf(rows);
  const streams = new Map<number, [number, number][]>();
  for (const s of new Set(rows.map((r) => r.streamId))) streams.set(s, unionOf(rows.filter((r) => r.streamId === s)));
  let pairs = 0;
  const ids = [...streams.keys()];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      let ov = 0;
      for (const [a, b] of streams.get(ids[i])!) for (const [c, d] of streams.get(ids[j])!) ov += Math.max(0, Math.min(b, d) - Math.max(a, c));
      if (ov > 0) pairs++;
    }
  }
  const len = (set: [number, number][]) => set.reduce((x, [s, e]) => x + e - s, 0);
  return {
    busy: len(all), kernelTime: rows.reduce((x, r) => x + r.end - r.start, 0), levels: Array.from(levels, (v) => v ?? 0),
    gaps: all.length - 1, streamBusy: new Map([...streams].map(([s, set]) => [s, len(set)])), pairs, w: w1 - w0,
  };
}

/** Registers the oracle test of each file that `pick` keeps. */
export function oracleChecks(pick: (file: string) => boolean): void {
  describe.each(files.filter(pick))('%s', (file) => {
    it('matches an independent SQL + sweep computation exactly', () => {
      const want = oracle(file);
      // the oracle measures first kernel to last: the whole capture
      const d = buildReport(readNsysSqlite(file), { wholeTrace: true }).devices[0];
      expect(d.window.duration).toBe(want.w);
      expect(d.overlap.busy).toBe(want.busy);
      expect(d.overlap.kernelTime).toBe(want.kernelTime);
      expect(d.overlap.levelTime).toEqual(want.levels);
      expect(d.overlap.overlapTime).toBe(want.levels.slice(2).reduce((a, b) => a + b, 0));
      expect(d.overlap.utilization).toBe(want.busy / want.w);
      expect(d.gaps.all.count).toBe(want.gaps);
      expect(d.gaps.all.total).toBe(want.w - want.busy);
      expect(new Map(d.streams.map((s) => [s.streamId, s.busy]))).toEqual(want.streamBusy);
      expect(d.streamPairs.filter((p) => p.overlap > 0)).toHaveLength(want.pairs);
    });
  });
}
