import { describe, expect, it } from 'vitest';
import { intervalSet, type IntervalSet } from '../../src/model/intervals.js';
import { forEachInWindow, forEachRunInWindow, piece, type WindowColumns } from '../../src/model/window-pieces.js';

/** The pieces as forEachInWindow defined them before runs: a segment walk per row. */
function reference(t: WindowColumns, deviceId: number, window: IntervalSet): number[][] {
  const out: number[][] = [];
  let seg = 0;
  for (let i = 0; i < t.count; i++) {
    if (t.deviceId[i] !== deviceId) continue;
    const s = t.start[i];
    const e = t.end[i];
    while (seg < window.count && window.end[seg] < s) seg++;
    let first = true;
    for (let j = seg; j < window.count && window.start[j] <= e; j++) {
      const a = Math.max(s, window.start[j]);
      const b = Math.min(e, window.end[j]);
      if (b > a || (e === s && s >= window.start[j] && s <= window.end[j])) {
        out.push([i, first ? 1 : 0, a, b]);
        first = false;
        if (e === s) break;
      }
    }
  }
  return out;
}

describe('forEachRunInWindow', () => {
  it('gives forEachInWindow\'s pieces in row order, whole rows a run at a time', () => {
    let seed = 5;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    for (let trial = 0; trial < 300; trial++) {
      const n = Math.floor(rand() * 30);
      const rows = Array.from({ length: n }, () => {
        const s = Math.floor(rand() * 100);
        // zero-length, invalid (end before start) and ordinary rows, on two devices
        const r = rand();
        return { s, e: r < 0.15 ? s : r < 0.2 ? s - 1 : s + 1 + Math.floor(rand() * 12), d: rand() < 0.2 ? 1 : 0 };
      }).sort((x, y) => x.s - y.s);
      const t: WindowColumns = {
        count: n, start: Float64Array.from(rows, (r) => r.s), end: Float64Array.from(rows, (r) => r.e), deviceId: Int32Array.from(rows, (r) => r.d),
      };
      const windows = [intervalSet([[0, 120]]), intervalSet([[10, 60]]), intervalSet([[5, 20], [30, 31], [40, 70], [80, 95]])];
      for (const w of windows) {
        const expected = reference(t, 0, w);
        const runs: number[][] = [];
        forEachRunInWindow(t, 0, w, (from, to) => {
          for (let i = from; i < to; i++) runs.push([i, 1, t.start[i], t.end[i]]);
        }, (i, first) => runs.push([i, first ? 1 : 0, piece[0], piece[1]]));
        expect(runs).toEqual(expected);
        const pieces: number[][] = [];
        forEachInWindow(t, 0, w, (i, first) => pieces.push([i, first ? 1 : 0, piece[0], piece[1]]));
        expect(pieces).toEqual(expected);
      }
    }
  });
});
