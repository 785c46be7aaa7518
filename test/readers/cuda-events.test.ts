import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { isAnalysedApiCall } from '../../src/analyses/api-calls.js';

describe('event records, stream waits, stream types and the environment (issue 15)', () => {
  const t = readNsysSqlite('fixtures/nsys-2025.3/streams.sqlite', { keepApiCall: isAnalysedApiCall, syncRecords: false });
  it('links each cudaStreamWaitEvent to its cudaEventRecord by (eventId, eventSyncId)', () => {
    const ev = t.cudaEvents!;
    expect(ev.records.count).toBe(201);
    // 64 experts x 3 iterations: each expert stream waits for the main stream, the main stream for each expert
    expect(ev.waits.count).toBe(384);
    const recorded = new Set(Array.from({ length: ev.records.count }, (_, i) => `${ev.records.eventId[i]}:${ev.records.eventSyncId[i]}`));
    let linked = 0;
    for (let i = 0; i < ev.waits.count; i++) if (recorded.has(`${ev.waits.eventId[i]}:${ev.waits.eventSyncId[i]}`)) linked++;
    expect(linked).toBe(384);
    // the waits' calls are kept by analyze, and the records' too
    const names = new Set(Array.from(t.runtime.name, (n) => t.strings[n]));
    expect(names.has('cudaStreamWaitEvent')).toBe(true);
    expect(names.has('cudaEventRecord')).toBe(true);
  });
  it('reads stream types: the legacy default (NULL) stream and the non-blocking ones', () => {
    expect(t.streamInfo!.find((s) => s.streamId === 7)?.flag).toBe('null');
    expect(t.streamInfo!.filter((s) => s.flag === 'non-blocking').length).toBeGreaterThanOrEqual(64);
  });
  it('reads the launched process\'s CUDA environment from META_DATA_CAPTURE (no CUDA_DEVICE_MAX_CONNECTIONS set here)', () => {
    expect(t.meta.cudaEnvironment).toMatchObject({ CUDA_VERSION: '13.0.2' });
    expect(t.meta.cudaEnvironment!.CUDA_DEVICE_MAX_CONNECTIONS).toBeUndefined();
  });
  it('an export whose syncType mislabels stream syncs as waits yields no false waits', () => {
    // whole-process torch-sequential: 1045 records of type 2, every one a cudaStreamSynchronize
    const w = readNsysSqlite('fixtures/nsys-2025.3-whole/torch-sequential.sqlite', { keepApiCall: isAnalysedApiCall, syncRecords: false });
    expect(w.cudaEvents!.waits.count).toBe(0);
  });
});
