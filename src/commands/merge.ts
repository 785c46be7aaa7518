/**
 * `moe-trace merge SUMMARY.json ...`: the reduce step of a cluster run. Each input is what
 * `analyze --json` wrote for one rank (a report, or the reports of several files) or an earlier
 * merge; the output is the combined summary `analyze` prints for the same files analysed together.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliIo } from '../cli.js';
import { InputError } from '../errors.js';
import { buildCombined, mergeCombined, type CombinedSummary } from '../report/combined.js';
import type { Report } from '../report/types.js';
import { renderCombinedTerminal } from '../parallel/render-combined.js';

const HINT = 'give the output of `moe-trace analyze --json` or of `moe-trace merge --json`';

/** One input file as a combined summary of the reports it holds. */
export function summaryOf(path: string, text: string): CombinedSummary {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path} is not JSON (${(e as Error).message}); ${HINT}`);
  }
  const d = doc as { schema?: unknown; reports?: unknown; combined?: unknown };
  if (d?.schema === 'moe-trace/report') return buildCombined([doc as Report]);
  if (d?.schema === 'moe-trace/reports' && Array.isArray(d.reports)) return buildCombined(d.reports as Report[]);
  if (d?.schema === 'moe-trace/combined') return doc as CombinedSummary;
  throw new InputError(`${path} is not a moe-trace summary (schema ${JSON.stringify(d?.schema ?? null)}); ${HINT}`);
}

export function readSummary(path: string): CombinedSummary {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new InputError(`${path} is not a file; ${HINT}`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ${HINT}`);
  }
  return summaryOf(path, text);
}

export function registerMerge(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program.command('merge')
    .description('combine per-rank JSON summaries (analyze --json) into one summary across ranks: per-rank table, slowest rank, spread')
    .argument('<summaries...>', 'JSON files written by `moe-trace analyze --json` (one per rank) or by `moe-trace merge --json`')
    .option('--json', 'print the combined summary as JSON')
    .action((paths: string[], flags: { json?: boolean }) => {
      const combined = mergeCombined(paths.map(readSummary));
      io.stdout(flags.json ? `${JSON.stringify(combined, null, 2)}\n` : renderCombinedTerminal(combined));
      setExit(0);
    });
}
