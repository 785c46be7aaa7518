/**
 * Everything that can be wrong with an input path before or while SQLite opens it, turned into
 * one InputError line saying what is wrong and what to do. The input is never written: the
 * connection is read-only, and a WAL-mode database (whose read-only open would create -shm/-wal
 * files next to it) is read from an in-memory copy instead.
 */
import { closeSync, copyFileSync, mkdtempSync, openSync, readSync, rmSync, statSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import Database from 'better-sqlite3';
import { InputError } from '../errors.js';

const SQLITE_MAGIC = 'SQLite format 3\u0000';
const EXPORT_HINT = 'nsys export --type sqlite --output report.sqlite report.nsys-rep';

export interface OpenOptions {
  /** how long to wait for another process's lock before giving up (ms) */
  busyTimeoutMs?: number;
}

export interface OpenedInput {
  db: Database.Database;
  fileSizeBytes: number;
  /**
   * the database is the file at the path (not a copy), in rollback-journal mode with no -wal
   * beside it: what its pages hold is what SQLite reads
   */
  inPlace: boolean;
  /** closes the connection and removes the private copy, if one was made */
  close: () => void;
}

interface SqliteHeader {
  pageSize: number;
  pageCount: number | null;
  wal: boolean;
}

/** Reads the 100-byte SQLite header; null when the file does not start like an SQLite database. */
function readHeader(path: string): SqliteHeader | null {
  const buf = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, buf, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 16 || buf.toString('latin1', 0, 16) !== SQLITE_MAGIC) return null;
  if (n < 100) return { pageSize: 0, pageCount: 1, wal: false };
  const raw = buf.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  // The in-header page count is only trustworthy when the "version-valid-for" number matches
  // the change counter (SQLite file format §1.3.7); older writers leave it stale.
  const valid = buf.readUInt32BE(24) === buf.readUInt32BE(92);
  const pageCount = valid ? buf.readUInt32BE(28) : null;
  return { pageSize, pageCount, wal: buf[18] === 2 || buf[19] === 2 };
}

function notSqliteMessage(path: string): string {
  const ext = extname(path).toLowerCase();
  if (ext === '.nsys-rep' || ext === '.qdrep') {
    return `${path} is an Nsight Systems report, not its SQLite export; export it first: ${EXPORT_HINT.replace('report.nsys-rep', path)}`;
  }
  if (ext === '.qdstrm') {
    return `${path} is an unfinished Nsight Systems capture (.qdstrm); nsys's importer (QdstrmImporter) must convert it to a .nsys-rep first, then export that: ${EXPORT_HINT}`;
  }
  return `${path} is not an SQLite database; give the .sqlite file written by \`${EXPORT_HINT}\``;
}

function promisedSize(h: SqliteHeader): number {
  return Math.max(100, h.pageSize * (h.pageCount ?? 0));
}

/** A header cut short reads as page size 0 with one page: always shorter than promised. */
function shortBy(h: SqliteHeader, size: number): boolean {
  return h.pageCount !== null && h.pageCount > 0 && size < promisedSize(h);
}

/**
 * A writer in the middle of a commit (nsys still exporting) can leave the file shorter than its
 * new header for a moment. Under a read lock no commit is in flight, so the file is checked
 * again there; only a file still short then is truncated. A writer holding its lock past the
 * busy timeout, or a hot journal, raises SQLite's own error, which says so.
 */
function stillShort(path: string, timeout: number): boolean {
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout });
    db.exec('BEGIN');
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
    // stat first: closing readHeader's descriptor drops this process's POSIX locks on the file
    const size = statSync(path).size;
    const header = readHeader(path);
    return header === null || shortBy(header, size);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|READONLY_ROLLBACK)/.test(code)) throw sqliteInputError(e, path) ?? e;
    return true;
  } finally {
    db?.close();
  }
}

/** Checks the path and opens the database read-only. Throws InputError for every user-fixable problem. */
export function openInput(path: string, opts: OpenOptions = {}): OpenedInput {
  if (!existsSync(path)) {
    throw new InputError(`${path}: no such file; check the path (an nsys export is the .sqlite file written by \`${EXPORT_HINT}\`)`);
  }
  const st = statSync(path);
  if (st.isDirectory()) {
    throw new InputError(`${path} is a directory; give the .sqlite file exported by nsys inside it`);
  }
  if (!st.isFile()) {
    throw new InputError(`${path} is not a regular file; give the .sqlite file exported by nsys`);
  }
  if (st.size === 0) {
    throw new InputError(`${path} is empty (0 bytes); the export did not finish — run \`${EXPORT_HINT}\` again`);
  }
  let header: SqliteHeader | null;
  try {
    header = readHeader(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new InputError(`${path} cannot be read (${code}); check that it is readable`);
  }
  if (header === null) throw new InputError(notSqliteMessage(path));
  const timeout = opts.busyTimeoutMs ?? 1000;
  let size = st.size;
  if (shortBy(header, size) && (header.wal || stillShort(path, timeout))) {
    throw new InputError(`${path} is a truncated SQLite database (${size} bytes, its header promises ${promisedSize(header)}); copy or export it again`);
  }
  size = statSync(path).size;
  let db: Database.Database;
  const wal = existsSync(`${path}-wal`);
  // SQLite applies a -wal beside the file whatever the header says, so with one the pages of the
  // file alone are not the database
  const inPlace = !header.wal && !wal;
  let copyDir: string | null = null;
  try {
    if (header.wal && !wal) {
      // A WAL-mode file with no -wal beside it holds all its data: read a copy in memory (costs
      // the file's size in RAM), patched to rollback-journal mode so SQLite looks for no WAL.
      const copy = readFileSync(path);
      copy[18] = 1; copy[19] = 1;
      db = new Database(copy, { readonly: true, timeout });
    } else if (wal && !existsSync(`${path}-shm`)) {
      // A -wal and no -shm (a crashed writer, or a -wal left beside a rollback-journal file):
      // even a read-only open would create the -shm beside the input. Read a private copy of
      // the two files instead, where SQLite merges the log as it would in place.
      copyDir = mkdtempSync(join(tmpdir(), 'moe-trace-wal-'));
      const copy = join(copyDir, 'input.sqlite');
      copyFileSync(path, copy);
      copyFileSync(`${path}-wal`, `${copy}-wal`);
      db = new Database(copy, { readonly: true, fileMustExist: true, timeout });
    } else {
      // a -wal and a -shm: a writer is active (or crashed) and only SQLite can merge the log;
      // both files exist already, so nothing new is written beside the input
      db = new Database(path, { readonly: true, fileMustExist: true, timeout });
    }
  } catch (e) {
    if (copyDir) rmSync(copyDir, { recursive: true, force: true });
    throw sqliteInputError(e, path) ?? e;
  }
  const dir = copyDir;
  const close = (): void => {
    try { db.close(); } finally { if (dir) rmSync(dir, { recursive: true, force: true }); }
  };
  return { db, fileSizeBytes: size, inPlace, close };
}

/**
 * Maps SQLite's own errors (raised while opening or reading) to InputError; returns null for
 * anything that is not about the file, which is then our bug.
 */
export function sqliteInputError(e: unknown, path: string): InputError | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return null;
  // SQLite may quote the damaged schema text, newlines and all: the message stays one short line
  const raw = (e instanceof Error ? e.message : String(e)).replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  const detail = raw.length > 160 ? `${raw.slice(0, 160)}…` : raw;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new InputError(`${path} is locked by another process (is nsys still exporting it?); wait for it to finish and try again`);
  }
  // "unsupported file format": a damaged schema format number in the header (SQLITE_ERROR, not CORRUPT)
  const damagedHeader = code === 'SQLITE_ERROR' && /^unsupported file format/.test(raw);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_IOERR') || damagedHeader) {
    return new InputError(`${path} is a damaged SQLite database (${detail}); copy or export it again`);
  }
  if (code === 'SQLITE_READONLY_ROLLBACK' || code === 'SQLITE_READONLY_RECOVERY') {
    // A hot journal (or a WAL needing recovery): only a writer may repair it, and we never write.
    return new InputError(`${path} has an unfinished write (${code === 'SQLITE_READONLY_ROLLBACK' ? 'a hot -journal' : 'a -wal log to recover'} next to it): the program writing it was interrupted or is still running; wait for it to finish, or export the report again`);
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_READONLY')) {
    return new InputError(`${path} cannot be opened (${detail}); check that it is readable`);
  }
  return null;
}
