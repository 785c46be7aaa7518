#!/usr/bin/env node
/**
 * Benchmark (b): the naive better-sqlite3 loop. Reads the same rows and columns as the analysis,
 * one row object at a time, and does nothing with them: the cost of per-row JavaScript alone.
 *   node bench/naive-loop.js FILE   → prints {"rows": N, "ms": T} on stdout
 */
import Database from 'better-sqlite3';
import { analysisQueries } from './queries.js';

const file = process.argv[2];
const db = new Database(file, { readonly: true, fileMustExist: true });
const t0 = performance.now();
let rows = 0;
for (const sql of analysisQueries(db)) {
  // eslint-disable-next-line no-unused-vars
  for (const _row of db.prepare(sql).iterate()) rows++;
}
process.stdout.write(`${JSON.stringify({ rows, ms: performance.now() - t0 })}\n`);
