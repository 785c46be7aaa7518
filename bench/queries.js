/**
 * The rows and columns the analysis needs, as plain SELECTs: what benchmarks (a) the sqlite3
 * shell and (b) the naive JavaScript loop read. Mirrors src/readers/nsys-events.ts: a column the
 * export lacks is left out rather than read as NULL.
 */
export const ANALYSIS_COLUMNS = {
  CUPTI_ACTIVITY_KIND_KERNEL: ['start', 'end', 'deviceId', 'streamId', 'correlationId', 'globalPid',
    'shortName', 'gridX', 'gridY', 'gridZ', 'blockX', 'blockY', 'blockZ', 'registersPerThread',
    'staticSharedMemory', 'dynamicSharedMemory', 'graphNodeId'],
  CUPTI_ACTIVITY_KIND_RUNTIME: ['start', 'end', 'globalTid', 'correlationId', 'nameId', 'eventClass'],
  CUPTI_ACTIVITY_KIND_DRIVER: ['start', 'end', 'globalTid', 'correlationId', 'nameId'],
  CUPTI_ACTIVITY_KIND_MEMCPY: ['start', 'end', 'deviceId', 'contextId', 'streamId', 'correlationId', 'globalPid',
    'bytes', 'copyKind', 'srcKind', 'dstKind'],
  CUPTI_ACTIVITY_KIND_MEMSET: ['start', 'end', 'deviceId', 'contextId', 'streamId', 'correlationId', 'globalPid',
    'bytes', 'memKind'],
  CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: ['start', 'end', 'deviceId', 'contextId', 'streamId', 'correlationId',
    'globalPid', 'syncType'],
  NVTX_EVENTS: ['start', 'end', 'text', 'textId', 'globalTid', 'eventType', 'domainId', 'int64Value',
    'uint64Value', 'int32Value', 'uint32Value', 'doubleValue', 'floatValue'],
};

const q = (name) => `"${name.replaceAll('"', '""')}"`;

/** One SELECT per activity table present in the open database. */
export function analysisQueries(db) {
  const out = [];
  for (const [table, wanted] of Object.entries(ANALYSIS_COLUMNS)) {
    const have = new Set(db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table));
    if (have.size === 0) continue;
    const cols = wanted.filter((c) => have.has(c));
    out.push(`SELECT ${cols.map(q).join(', ')} FROM ${q(table)}`);
  }
  return out;
}

/** Rows per activity table, and in total. */
export function rowCounts(db) {
  const counts = {};
  let total = 0;
  for (const table of Object.keys(ANALYSIS_COLUMNS)) {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
    if (!exists) continue;
    counts[table] = db.prepare(`SELECT COUNT(*) FROM ${q(table)}`).pluck().get();
    total += counts[table];
  }
  return { counts, total };
}
