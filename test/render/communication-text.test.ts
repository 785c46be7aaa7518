import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildReport } from '../../src/report/build.js';
import { renderTerminal } from '../../src/render/terminal.js';
import { communicationLine, communicationTables } from '../../src/render/communication-text.js';
import { TERMINAL_TABLES } from '../../src/render/tables.js';

describe('communication in the terminal report', () => {
  const report = buildReport(readNsysSqlite('fixtures/nsys-2025.3-ep1/ep-overlapped-rank0.sqlite'));
  const d = report.devices[0];

  it('one line in the short report, with the exposed time and the worst phase', () => {
    expect(communicationLine(d)).toBe('GPU 0: communication 43.68 µs in 20 operations (NCCL), 43.68 µs exposed with no compute beside it (hidden share 0.0%, 0.0% of the window); most exposed phase: dispatch mb1 11.78 µs');
    expect(renderTerminal(report)).toContain('GPU 0: communication 43.68 µs in 20 operations');
  });

  it('--full lists communication, its phases and what was classified how', () => {
    const keys = communicationTables(d, TERMINAL_TABLES).map((t) => t.key);
    expect(keys).toEqual(['communication', 'communication-kernels', 'communication-phases', 'kernel-classes']);
    const full = renderTerminal(report, { full: true });
    expect(full).toMatch(/\[CUDA memcpy\]\s+communication\s+NCCL: ncclAlltoAll\s+20\s+43\.68 µs\s+43\.68 µs\s+100\.0%/);
    expect(full).toMatch(/dispatch\s+1\s+5\s+11\.78 µs\s+11\.78 µs\s+0\.0%/);
    expect(full).toMatch(/expert-gemm\s+1,920\s+7\.342 ms/);
    expect(full).toMatch(/compute\s+780\s+5\.011 ms/);
  });

  it('a trace without communication prints no communication line but still lists its classes', () => {
    const r = buildReport(readNsysSqlite('fixtures/nsys-2025.3/grouped.sqlite'));
    expect(communicationLine(r.devices[0])).toBeNull();
    expect(communicationTables(r.devices[0], TERMINAL_TABLES).map((t) => t.key)).toEqual(['kernel-classes']);
  });
});
