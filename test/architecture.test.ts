/**
 * The import rules of docs/ARCHITECTURE.md, checked on every relative import under src/: the
 * flow readers → model → analyses → Report → findings → renderers runs one way. A rule broken on
 * purpose goes into DEBT below with the issue that removes it; a new break fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** The Report's schema: type modules any layer may read (report/types.ts also holds its constant lists). */
const SCHEMA = ['report/types.ts', 'report/expert-types.ts', 'report/communication.ts'];
/** Number and text formatting, a leaf module the findings' and analyses' prose uses too. */
const FORMAT = ['render/format.ts'];

/** What each part of src/ may import besides itself (a folder, or a top-level file). */
const ALLOWED: Record<string, string[]> = {
  'errors.ts': [],
  'version.ts': [],
  model: ['errors.ts', ...SCHEMA],
  profile: ['errors.ts'],
  readers: ['model', 'errors.ts', 'profile', 'progress.ts'],
  analyses: ['model', 'errors.ts', ...SCHEMA, ...FORMAT],
  findings: ['analyses', 'model', 'errors.ts', ...SCHEMA, ...FORMAT],
  report: ['analyses', 'findings', 'model', 'errors.ts', 'version.ts', ...FORMAT],
  render: ['report', 'model', 'errors.ts', 'findings'],
  'gates.ts': ['analyses', 'model', 'report', 'errors.ts', ...FORMAT],
  'progress.ts': ['render', 'errors.ts'],
  parallel: ['readers', 'model', 'analyses', 'findings', 'report', 'render', 'errors.ts', 'progress.ts', 'gates.ts'],
  commands: ['*'],
  'cli.ts': ['*'],
};

/**
 * Known breaks (file → imported file), each with the issue that removes it. Renderers are to read
 * what the Report holds rather than run analyses (issue 12 item 3, the report colleague's #16).
 */
const DEBT: Record<string, string> = {
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** The part of src/ a file belongs to: its top folder, or the file itself at the top. */
const partOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel);

/** Every relative import and re-export of the source text, as src-relative .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s+'(\.[^']+)'|^\s*import\s+'(\.[^']+)'|\bimport\(\s*'(\.[^']+)'\s*\)/gm)) {
    const spec = m[1] ?? m[2] ?? m[3];
    out.push(relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

const edges = sources(SRC).flatMap((file) => {
  const from = relative(SRC, file);
  return importsOf(file).map((to) => ({ from, to }));
});

function allowed(from: string, to: string): boolean {
  const a = partOf(from);
  const b = partOf(to);
  if (a === b) return true;
  const rules = ALLOWED[a];
  if (!rules) return false;
  return rules.includes('*') || rules.includes(b) || rules.includes(to);
}

describe('architecture (docs/ARCHITECTURE.md)', () => {
  it('reads the imports (the scan is not empty)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'report/build.ts', to: 'analyses/device.ts' });
  });

  it('every part of src/ is named in the rules', () => {
    const parts = new Set(sources(SRC).map((f) => partOf(relative(SRC, f))));
    expect([...parts].filter((p) => !(p in ALLOWED))).toEqual([]);
  });

  it('each import follows the flow, or is listed debt', () => {
    const broken = edges.filter(({ from, to }) => !allowed(from, to) && !(`${from} → ${to}` in DEBT)).map(({ from, to }) => `${from} → ${to}`);
    expect(broken).toEqual([]);
  });

  it('the debt list holds only imports that still exist (remove an entry when its import goes)', () => {
    const present = new Set(edges.map(({ from, to }) => `${from} → ${to}`));
    expect(Object.keys(DEBT).filter((d) => !present.has(d))).toEqual([]);
  });

  it('analyses and findings hand data on explicitly: no module-level WeakMap caches', () => {
    const hidden = sources(SRC).filter((f) => /^(analyses|findings)\//.test(relative(SRC, f)) && /\bWeakMap\b/.test(readFileSync(f, 'utf8')));
    expect(hidden.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('a model file imports the Report only for its types', () => {
    const valueImports = sources(join(SRC, 'model')).filter((f) => /^\s*import\s+\{[^}]*\}\s+from\s+'\.\.\/report\//m.test(readFileSync(f, 'utf8'))
      && !/^\s*import\s+type\s/m.test(readFileSync(f, 'utf8')));
    expect(valueImports.map((f) => relative(SRC, f))).toEqual([]);
  });
});
