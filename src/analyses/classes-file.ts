/**
 * `--classes FILE`: the user's kernel name patterns, tried before the built-in ones
 * (docs/kernel-classes.md). The file is JSON:
 *
 *   { "classes": [ { "class": "communication", "pattern": "my_a2a_\\w+", "family": "my all-to-all" },
 *                  { "class": "expert-gemm", "pattern": "/moe_ffn_kernel/i" } ] }
 *
 * (or just the array). `pattern` is a regular expression's source, or /source/flags; it is
 * tested against the kernel's full name (and its short name). Bad files are an InputError
 * naming the entry and what to fix.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../errors.js';
import { BUILTIN_PATTERNS, KERNEL_CLASSES, type ClassPattern, type KernelClass } from './kernel-classes.js';

/** One pattern as plain data (it crosses to worker threads inside ReportOptions). */
export interface ClassPatternSpec {
  class: KernelClass;
  family: string;
  source: string;
  flags: string;
  /** the file it came from */
  file: string;
}

const HINT = 'expected {"classes": [{"class": "communication", "pattern": "regex", "family": "name"}, ...]} (see docs/kernel-classes.md)';

/** Parses a classes file's text; `file` names it in messages. */
export function parseClassesFile(file: string, text: string): ClassPatternSpec[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InputError(`--classes ${file} is not JSON (${(e as Error).message}); ${HINT}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { classes?: unknown } | null)?.classes;
  if (!Array.isArray(list)) throw new InputError(`--classes ${file}: no "classes" list; ${HINT}`);
  return list.map((entry, n) => {
    const e = entry as { class?: unknown; pattern?: unknown; family?: unknown } | null;
    const where = `--classes ${file}: entry ${n + 1}`;
    if (typeof e !== 'object' || e === null) throw new InputError(`${where} is not an object; ${HINT}`);
    if (typeof e.class !== 'string' || !(KERNEL_CLASSES as readonly string[]).includes(e.class)) {
      throw new InputError(`${where}: "class" must be one of ${KERNEL_CLASSES.join(', ')}, got ${JSON.stringify(e.class ?? null)}`);
    }
    if (typeof e.pattern !== 'string' || e.pattern.length === 0) throw new InputError(`${where}: "pattern" must be a non-empty string (a regular expression)`);
    if (e.family !== undefined && typeof e.family !== 'string') throw new InputError(`${where}: "family" must be a string`);
    const slashed = /^\/(.+)\/([a-z]*)$/s.exec(e.pattern);
    const source = slashed ? slashed[1] : e.pattern;
    const flags = slashed ? slashed[2] : '';
    try {
      new RegExp(source, flags);
    } catch (err) {
      throw new InputError(`${where}: "pattern" ${JSON.stringify(e.pattern)} is not a valid regular expression (${(err as Error).message})`);
    }
    if (/[gy]/.test(flags)) throw new InputError(`${where}: flags g and y make a pattern stateful; drop them from ${JSON.stringify(e.pattern)}`);
    return { class: e.class as KernelClass, family: (e.family as string | undefined) ?? e.pattern, source, flags, file };
  });
}

export function readClassesFile(path: string): { file: string; patterns: ClassPatternSpec[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`--classes ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return { file: path, patterns: parseClassesFile(path, text) };
}

/** The user's patterns, then the built-in ones. */
export function compileClassPatterns(specs: readonly ClassPatternSpec[]): ClassPattern[] {
  return [
    ...specs.map((s) => ({ class: s.class, family: s.family, pattern: new RegExp(s.source, s.flags), source: s.file })),
    ...BUILTIN_PATTERNS,
  ];
}
