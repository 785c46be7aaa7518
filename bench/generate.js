#!/usr/bin/env node
/**
 * Writes a large Nsight Systems SQLite export by repeating a real one: copy k of every activity
 * row is shifted by k·period in time and by k·(correlationId range) in correlationId, so each
 * copy keeps its own launch ↔ kernel links and the copies never overlap. Every analysis of the
 * result is therefore the source's, scaled: counts ×N, busy ×N, overlap share equal.
 *
 * When the source has no NVTX, one push/pop range "iteration" per copy and one "stream S" range
 * per stream (around the calls that fed that stream) are added, so big files exercise NVTX too.
 *
 *   node bench/generate.js --source FILE --kernels 1000000 --out bench/data/k1m.sqlite [--no-nvtx]
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Tables whose rows are repeated per copy; every other table is copied once. */
const ACTIVITY = [
  'CUPTI_ACTIVITY_KIND_KERNEL', 'CUPTI_ACTIVITY_KIND_RUNTIME', 'CUPTI_ACTIVITY_KIND_DRIVER',
  'CUPTI_ACTIVITY_KIND_MEMCPY', 'CUPTI_ACTIVITY_KIND_MEMSET', 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION',
  'NVTX_EVENTS',
];

const NVTX_TABLE = `CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType INTEGER NOT NULL,
  rangeId INTEGER, category INTEGER, color INTEGER, text TEXT, globalTid INTEGER, endGlobalTid INTEGER,
  textId INTEGER, domainId INTEGER, uint64Value INTEGER, int64Value INTEGER, doubleValue REAL,
  uint32Value INTEGER, int32Value INTEGER, floatValue REAL, jsonTextId INTEGER, jsonText TEXT, binaryData TEXT)`;

const q = (name) => `"${name.replaceAll('"', '""')}"`;

function columnsOf(db, table) {
  return db.prepare(`PRAGMA table_info(${q(table)})`).all().map((c) => c.name);
}

/** NVTX rows for one copy of a source without NVTX: an iteration range and a range per stream. */
function syntheticNvtx(src) {
  const launches = src.prepare(`
    SELECT g.streamId AS streamId, r.globalTid AS tid, MIN(r.start) AS start, MAX(r."end") AS "end"
    FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN (
      SELECT correlationId, streamId FROM CUPTI_ACTIVITY_KIND_KERNEL
      ${hasTable(src, 'CUPTI_ACTIVITY_KIND_MEMCPY') ? 'UNION ALL SELECT correlationId, streamId FROM CUPTI_ACTIVITY_KIND_MEMCPY' : ''}
    ) g ON g.correlationId = r.correlationId
    GROUP BY g.streamId, r.globalTid ORDER BY start`).all();
  if (launches.length === 0) return [];
  const tid = launches[0].tid;
  const onThread = launches.filter((l) => l.tid === tid);
  const all = src.prepare('SELECT MIN(start) AS start, MAX("end") AS "end" FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE globalTid = ?').get(tid);
  const rows = [{ start: all.start, end: all.end, text: 'iteration', tid }];
  for (const l of onThread) rows.push({ start: l.start, end: l.end, text: `stream ${l.streamId}`, tid });
  return rows;
}

function hasTable(db, name) {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * Generates `out` from `source` with `copies` copies (or enough copies for `kernels` kernels).
 * Writes to a temporary name first, so an interrupted run never leaves a truncated export.
 * Returns what was written.
 */
export function generate({ source, out, kernels, copies, nvtx = true, log = () => {} }) {
  const src = new Database(source, { readonly: true, fileMustExist: true });
  try {
    const seedKernels = hasTable(src, 'CUPTI_ACTIVITY_KIND_KERNEL')
      ? src.prepare('SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL').pluck().get() : 0;
    const n = copies ?? Math.max(1, Math.ceil((kernels ?? 0) / Math.max(1, seedKernels)));
    const present = ACTIVITY.filter((t) => hasTable(src, t));
    let minStart = Infinity; let maxEnd = -Infinity; let minCorr = Infinity; let maxCorr = -Infinity;
    for (const t of present) {
      const cols = columnsOf(src, t);
      const r = src.prepare(`SELECT MIN(start) AS a, MAX(COALESCE("end", start)) AS b${cols.includes('correlationId') ? ', MIN(correlationId) AS c0, MAX(correlationId) AS c1' : ''} FROM ${q(t)}`).get();
      if (r.a !== null) { minStart = Math.min(minStart, r.a); maxEnd = Math.max(maxEnd, r.b); }
      if (r.c1 != null) { minCorr = Math.min(minCorr, r.c0); maxCorr = Math.max(maxCorr, r.c1); }
    }
    if (!Number.isFinite(minStart)) throw new Error(`${source} has no activity rows to repeat`);
    // whole milliseconds, with at least 1 ms between copies: copies never touch
    const period = (Math.floor((maxEnd - minStart) / 1e6) + 2) * 1e6;
    // copies take consecutive id ranges, as one long capture would: ids stay dense
    const corrStep = Number.isFinite(maxCorr) ? maxCorr - minCorr + 1 : 1;
    if (minStart + n * period > Number.MAX_SAFE_INTEGER) throw new Error('too many copies: times would pass 2^53');

    mkdirSync(dirname(out), { recursive: true });
    const tmp = `${out}.partial`;
    rmSync(tmp, { force: true });
    const db = new Database(tmp);
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const tables = src.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%'").all();
    db.exec('BEGIN');
    for (const { name, sql } of tables) {
      db.exec(sql);
      const cols = columnsOf(src, name);
      if (present.includes(name)) db.exec(`CREATE TEMP TABLE ${q(`seed_${name}`)} AS SELECT * FROM main.${q(name)} WHERE 0`);
      const insert = db.prepare(`INSERT INTO ${q(present.includes(name) ? `seed_${name}` : name)} VALUES (${cols.map(() => '?').join(', ')})`);
      // BigInt reads: globalPid/globalTid can pass 2^53
      for (const row of src.prepare(`SELECT * FROM ${q(name)}`).safeIntegers(true).raw(true).iterate()) insert.run(row);
    }
    const repeat = [...present];
    if (nvtx && !present.includes('NVTX_EVENTS') && present.includes('CUPTI_ACTIVITY_KIND_RUNTIME') && seedKernels > 0) {
      db.exec(NVTX_TABLE);
      db.exec('CREATE TEMP TABLE seed_NVTX_EVENTS AS SELECT * FROM main.NVTX_EVENTS WHERE 0');
      const ins = db.prepare('INSERT INTO seed_NVTX_EVENTS (start, "end", eventType, text, globalTid, domainId) VALUES (?, ?, 59, ?, ?, 0)');
      for (const r of syntheticNvtx(src)) ins.run(r.start, r.end, r.text, r.tid);
      repeat.push('NVTX_EVENTS');
    }
    db.exec('COMMIT');
    const counts = {};
    for (const t of repeat) {
      const cols = columnsOf(db, t);
      const shifted = cols.map((c) => {
        if (c === 'start' || c === 'end') return `${q(c)} + k * ${period}`;
        if (c === 'correlationId') return `correlationId + k * ${corrStep}`;
        return q(c);
      });
      // copies outermost, each in the source's row order, as nsys writes rows roughly in time order
      db.exec(`BEGIN; WITH RECURSIVE c(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM c WHERE k < ${n - 1})
        INSERT INTO ${q(t)} SELECT ${shifted.join(', ')} FROM c CROSS JOIN ${q(`seed_${t}`)} s ORDER BY k, s.rowid; COMMIT`);
      counts[t] = db.prepare(`SELECT COUNT(*) FROM ${q(t)}`).pluck().get();
      log(`${t}: ${counts[t]} rows`);
    }
    db.close();
    renameSync(tmp, out);
    return { out, copies: n, origin: minStart, period, corrStep, counts, synthesizedNvtx: repeat.includes('NVTX_EVENTS') && !present.includes('NVTX_EVENTS') };
  } finally {
    src.close();
  }
}

function parseArgs(argv) {
  const a = { nvtx: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--source') a.source = argv[++i];
    else if (k === '--out') a.out = argv[++i];
    else if (k === '--kernels') a.kernels = Number(argv[++i]);
    else if (k === '--copies') a.copies = Number(argv[++i]);
    else if (k === '--no-nvtx') a.nvtx = false;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.source || !a.out || (a.kernels === undefined && a.copies === undefined)) {
    throw new Error('usage: node bench/generate.js --source FILE --out FILE (--kernels N | --copies N) [--no-nvtx]');
  }
  if (existsSync(a.out)) throw new Error(`${a.out} exists; remove it first`);
  return a;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = performance.now();
  const r = generate({ ...parseArgs(process.argv.slice(2)), log: (s) => process.stderr.write(`${s}\n`) });
  process.stderr.write(`wrote ${r.out}: ${r.copies} copies in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
