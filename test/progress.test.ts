import { describe, expect, it } from 'vitest';
import { createProgress, progressLine } from '../src/progress.js';

describe('progressLine', () => {
  it('shows the bar, rows, rate and ETA', () => {
    expect(progressLine('reading k1m.sqlite', 2_000_000, 8_000_000, 1000, 200))
      .toBe('reading k1m.sqlite [#####...............] 2,000,000/8,000,000 rows, 2.0M/s, ETA 3s');
    expect(progressLine('x', 10_000, 8_000_000, 1000, 200)).toMatch(/10k\/s, ETA 13m19s$/);
  });

  it('counts bytes as MB for a PyTorch profiler trace', () => {
    expect(progressLine('reading x.pt.trace.json.gz', 20e6, 56e6, 1000, 200, '', 'bytes'))
      .toBe('reading x.pt.trace.json.gz [#######.............] 20/56 MB, 20.0 MB/s, ETA 2s');
  });

  it('shortens the label, not the numbers, on a narrow terminal', () => {
    const line = progressLine('reading a-very-long-file-name.sqlite', 5, 10, 1000, 60);
    expect(line).toBe('reading a-ver… [##########..........] 5/10 rows, 5/s, ETA 1s');
    expect(line.length).toBeLessThanOrEqual(60);
  });
});

describe('createProgress', () => {
  function stream(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, s: { isTTY, columns: 120, write: (x: string) => writes.push(x) } };
  }

  it('draws nothing when stderr is not a terminal', () => {
    const { writes, s } = stream(false);
    let t = 0;
    const p = createProgress({ label: 'r', stream: s, now: () => t });
    t = 5000; p.update(1, 2); p.finish();
    expect(writes).toEqual([]);
  });

  it('draws only after the delay, at most once per interval, and erases itself', () => {
    const { writes, s } = stream(true);
    let t = 0;
    const p = createProgress({ label: 'r', stream: s, now: () => t });
    t = 999; p.update(1, 10);
    expect(writes).toEqual([]);
    t = 1000; p.update(2, 10);
    t = 1050; p.update(3, 10);
    t = 1100; p.update(4, 10);
    p.finish();
    expect(writes).toHaveLength(3);
    expect(writes[0]).toMatch(/^\rr \[####................\] 2\/10 rows/);
    expect(writes[1]).toMatch(/ 4\/10 rows/);
    expect(writes[2]).toBe('\r\x1b[K');
  });
});
