/**
 * .nsys-rep / .qdrep reports are read through an export made by the nsys that `profile` would
 * find. Here a stand-in `nsys` (a shell script on PATH) "exports" by copying a real export of
 * fixtures/ and logs how it was called; the real nsys runs on the GPU machine
 * (test/device/nsys-rep.sh). Checked: the export lands in the XDG cache, keyed by the report,
 * is reused, nothing is written beside the input, nsys's failure and its absence are one line.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync, copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTrace } from '../../src/readers/read-trace.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { exportCacheDir, exportCacheKey, exportCommand, reportWriterVersion } from '../../src/readers/nsys-rep.js';
import { InputError } from '../../src/errors.js';
import { main } from '../../src/cli.js';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';

afterAll(removeTempDirs);

const SQLITE = resolve(__dirname, '../../fixtures/kineto-2.11/grouped.sqlite');

/** A bin folder holding a stand-in nsys that copies SQLITE to --output and logs its arguments. */
function standIn(opts: { fail?: boolean } = {}): { bin: string; log: string } {
  const bin = tempDir();
  const log = join(bin, 'calls.log');
  const script = opts.fail
    ? '#!/bin/sh\necho "$@" >> "' + log + '"\necho "Processing 12 events" >&2\necho "ERROR: the report is damaged (unexpected end of file)" >&2\nexit 1\n'
    : `#!/bin/sh
echo "$@" >> "${log}"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--output" ]; then out="$2"; shift; fi
  last="$1"
  shift
done
[ -e "$last" ] || { echo "no input $last" >&2; exit 3; }
cp "${SQLITE}" "$out"
echo "Generated: $out"
`;
  writeFileSync(join(bin, 'nsys'), script);
  chmodSync(join(bin, 'nsys'), 0o755);
  return { bin, log };
}

function report(name = 'report1.nsys-rep'): { dir: string; path: string } {
  const dir = tempDir();
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([Buffer.from('NVIDIA Tegra Profiler Report 2024@4@2@133'), Buffer.alloc(4096, 7)]));
  return { dir, path };
}

const calls = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

describe('reading .nsys-rep / .qdrep through nsys', () => {
  it('exports once into the XDG cache, reads it, reuses it, and writes nothing beside the input', async () => {
    const { bin, log } = standIn();
    const cache = tempDir();
    const env = { PATH: `${bin}:/usr/bin:/bin`, XDG_CACHE_HOME: cache };
    const { dir, path } = report();
    const status: string[] = [];
    const t = await readTrace(path, { nsysRep: { env, root: tempDir(), onStatus: (l) => status.push(l) } });
    const direct = readNsysSqlite(SQLITE);
    expect([t.kernels.count, t.runtime.count]).toEqual([direct.kernels.count, direct.runtime.count]);
    expect(t.meta.file).toBe(path);
    expect(t.meta.fileSizeBytes).toBe(4096 + 41);
    // the report's first line names the nsys that wrote it; the export, the one that exported it
    expect(t.meta.source).toEqual({ format: 'nsys-rep', producer: 'nsys 2024.4.2.133 (exported by nsys 2025.3.2.0)' });
    expect(readdirSync(dir)).toEqual(['report1.nsys-rep']);
    const key = exportCacheKey(path);
    expect(readdirSync(join(cache, 'moe-trace', 'nsys-exports'))).toEqual([`${key}.sqlite`]);
    // nsys was given a link inside the cache, never the input's folder
    const args = calls(log);
    expect(args).toHaveLength(1);
    expect(args[0]).toMatch(new RegExp(`^export --type sqlite --force-overwrite true --output ${cache}/moe-trace/nsys-exports/${key}\\.tmp-\\w+/report\\.sqlite ${cache}/moe-trace/nsys-exports/${key}\\.tmp-\\w+/report\\.nsys-rep$`));
    expect(status[0]).toMatch(/^exporting .*report1\.nsys-rep to SQLite with .*nsys \(once; cached in .*\) \.\.\.$/);

    // again: the cached export, no nsys call
    const again = await readTrace(path, { nsysRep: { env, root: tempDir(), onStatus: (l) => status.push(l) } });
    expect(again.kernels.count).toBe(t.kernels.count);
    expect(calls(log)).toHaveLength(1);
    expect(status[status.length - 1]).toMatch(/^reading the export of .* cached in /);

    // a changed report (new mtime) is exported again
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    await readTrace(path, { nsysRep: { env, root: tempDir() } });
    expect(calls(log)).toHaveLength(2);
    expect(readdirSync(dir)).toEqual(['report1.nsys-rep']);
  });

  it('takes $NSYS first, and .qdrep too', async () => {
    const { bin, log } = standIn();
    const { path } = report('old.qdrep');
    const t = await readTrace(path, { nsysRep: { env: { NSYS: join(bin, 'nsys'), PATH: '/nonexistent', XDG_CACHE_HOME: tempDir() }, root: tempDir() } });
    expect(t.meta.source.format).toBe('nsys-rep');
    expect(calls(log)[0]).toMatch(/report\.qdrep$/);
    expect(reportWriterVersion(path)).toBe('2024.4.2.133');
    writeFileSync(path, 'NVIDIA Tegra Profiler Report 1.\n\u000bLocal (CLI)');
    expect(reportWriterVersion(path)).toBeNull();
  });

  it('nsys failing: one line with its last words and the command to try by hand; no cache entry', async () => {
    const { bin } = standIn({ fail: true });
    const cache = tempDir();
    const { dir, path } = report();
    const err = await readTrace(path, { nsysRep: { env: { PATH: bin, XDG_CACHE_HOME: cache }, root: tempDir() } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(`nsys (${join(bin, 'nsys')}) could not export ${path} (exit 1): ERROR: the report is damaged (unexpected end of file); is it a complete report? try \`${exportCommand(path)}\` by hand`);
    expect(readdirSync(join(cache, 'moe-trace', 'nsys-exports'))).toEqual([]);
    expect(readdirSync(dir)).toEqual(['report1.nsys-rep']);
  });

  it('no nsys anywhere: exit 2 with the one-line export command', async () => {
    const { path } = report();
    const err = await readTrace(path, { nsysRep: { env: { PATH: '/nonexistent', XDG_CACHE_HOME: tempDir() }, root: tempDir() } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/reading it needs nsys, which is not installed here .*: nsys export --type sqlite --output report1\.sqlite .*report1\.nsys-rep$/);
  });

  it('the cache folder: $XDG_CACHE_HOME, else ~/.cache', () => {
    expect(exportCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe('/x/cache/moe-trace/nsys-exports');
    expect(exportCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/moe-trace/nsys-exports');
    // a relative XDG_CACHE_HOME is invalid per the XDG spec: ignored
    expect(exportCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/home/u' })).toBe('/home/u/.cache/moe-trace/nsys-exports');
  });

  it('the CLI: analyze and compare a report like its export, the status line on stderr', async () => {
    const { bin } = standIn();
    const { path } = report();
    const copy = join(tempDir(), 'grouped.sqlite');
    copyFileSync(SQLITE, copy);
    const saved = { PATH: process.env.PATH, XDG: process.env.XDG_CACHE_HOME, NSYS: process.env.NSYS };
    process.env.PATH = `${bin}:${process.env.PATH}`;
    process.env.XDG_CACHE_HOME = tempDir();
    delete process.env.NSYS;
    try {
      let out = ''; let err = '';
      const io = { stdout: (s: string) => { out += s; }, stderr: (s: string) => { err += s; } };
      expect(await main(['analyze', '--json', path], io)).toBe(0);
      const viaRep = JSON.parse(out);
      out = '';
      expect(await main(['analyze', '--json', copy], io)).toBe(0);
      const direct = JSON.parse(out);
      expect(viaRep.input.file).toBe(path);
      expect(viaRep.input.source.format).toBe('nsys-rep');
      expect(viaRep.devices).toEqual(direct.devices);
      expect(viaRep.findings).toEqual(direct.findings);
      expect(err).toMatch(/exporting .*report1\.nsys-rep to SQLite with /);
      out = '';
      expect(await main(['compare', copy, path], io)).toBe(0);
      expect(out).toMatch(/speed-up vs grouped\s+1\.00x\s+1\.00x/);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.XDG === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = saved.XDG;
      if (saved.NSYS !== undefined) process.env.NSYS = saved.NSYS;
    }
  }, 60_000);
});

describe('a cache entry that is a directory or unreadable is not our bug', () => {
  it('mkdir of the cache fails: the error says which folder', async () => {
    const { bin } = standIn();
    const cache = tempDir();
    // a file where the cache folder should be
    mkdirSync(join(cache, 'moe-trace'), { recursive: true });
    writeFileSync(join(cache, 'moe-trace', 'nsys-exports'), 'x');
    const { path } = report();
    const err = await readTrace(path, { nsysRep: { env: { PATH: bin, XDG_CACHE_HOME: cache }, root: tempDir() } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/cannot create the export cache .*nsys-exports .*set XDG_CACHE_HOME/);
  });
});
