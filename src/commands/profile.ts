/**
 * `moe-trace profile`: captures the bundled MoE workload's modes (or the user's own program)
 * under nsys, exports SQLite, and ends with each capture's analyze headline and a comparison
 * table. `--print-script` prints the same captures as a bash script for GPU machines without Node.
 */
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { CliIo } from '../cli.js';
import { readForAnalysis } from '../parallel/analyze-file.js';
import { buildReport, headlineOf } from '../report/build.js';
import { formatNs, formatPct, textTable } from '../render/format.js';
import { type ProfileRequest, type WorkloadFlag, type WorkloadKind, WORKLOAD_FLAGS, planCaptures, shellQuote } from '../profile/plan.js';
import { renderCampaignScript } from '../profile/script.js';
import { type CaptureResult, runCaptures } from '../profile/run.js';
import { InputError } from '../errors.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface ProfileFlags {
  mode: string[];
  all?: boolean;
  workload: string;
  out: string;
  printScript?: boolean;
  [flag: string]: unknown;
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function requestFrom(command: string[], flags: ProfileFlags): ProfileRequest {
  if (!['native', 'torch', 'all'].includes(flags.workload)) {
    throw new InputError(`--workload expects native, torch or all, got "${flags.workload}".`);
  }
  const workloadFlags: Partial<Record<WorkloadFlag, string>> = {};
  for (const { flag } of WORKLOAD_FLAGS) {
    const v = flags[camel(flag)];
    if (typeof v === 'string') workloadFlags[flag] = v;
  }
  return { workload: flags.workload as WorkloadKind, modes: flags.mode, all: flags.all === true, workloadFlags, command };
}

/** The moe-trace command line that stands for a request, for the generated script's header. */
export function invocationOf(req: ProfileRequest, out: string): string {
  const words = ['moe-trace', 'profile'];
  if (req.all) words.push('--all');
  for (const m of req.modes) words.push('--mode', m);
  if (req.workload !== 'native') words.push('--workload', req.workload);
  for (const [flag, v] of Object.entries(req.workloadFlags)) words.push(`--${flag}`, v);
  words.push('--out', out, '--print-script');
  if (req.command?.length) words.push('--', ...req.command);
  return words.map(shellQuote).join(' ');
}

export function comparisonTable(results: CaptureResult[]): { headlines: string[]; table: string } {
  const headlines: string[] = [];
  const rows: string[][] = [];
  for (const r of results) {
    const report = buildReport(readForAnalysis(r.sqlite, false));
    for (const d of report.devices) {
      headlines.push(`${r.capture.name}: ${headlineOf(d)}`);
      rows.push([
        r.capture.name, r.latencyUs === null ? 'n/a' : `${r.latencyUs.toFixed(1)} µs`,
        formatNs(d.overlap.busy), formatPct(d.overlap.utilization), formatPct(d.overlap.overlapShare),
        String(d.hostSyncs.count), String(d.overlap.kernelCount), String(d.streams.length),
      ]);
    }
  }
  const header = ['capture', 'latency', 'GPU busy', 'utilization', 'overlap share', 'host syncs', 'kernels', 'streams'];
  return { headlines, table: textTable(header, rows) };
}

export function registerProfile(program: Command, io: CliIo, setExit: (code: number) => void): void {
  const cmd = program.command('profile')
    .description('capture the bundled MoE workload (or your program after --) with nsys, export SQLite, and compare the captures')
    .argument('[command...]', 'your own program and its arguments, after --')
    .option('--mode <mode>', 'workload mode to capture (repeatable): sequential, streams-sync, streams, grouped, graph', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--all', 'capture every mode (and, for the CUDA workload, the saturated preset)')
    .option('--workload <kind>', 'native (CUDA C++), torch (PyTorch reproduction) or all', 'native')
    .option('--out <dir>', 'folder for the captures', 'moe-trace-captures')
    .option('--print-script', 'print the captures as a bash script instead of running them (for GPU machines without Node.js)');
  for (const { flag } of WORKLOAD_FLAGS) cmd.option(`--${flag} <value>`, `workload --${flag}`);
  cmd.action(async (command: string[], flags: ProfileFlags) => {
    const captures = planCaptures(requestFrom(command, flags));
    if (flags.printScript) {
      io.stdout(renderCampaignScript(captures, flags.out, invocationOf(requestFrom(command, flags), flags.out)));
      setExit(0);
      return;
    }
    const results = await runCaptures(captures, flags.out, {
      env: process.env, packageRoot: PACKAGE_ROOT, progress: (line) => io.stderr(`moe-trace: ${line}\n`),
    });
    const { headlines, table } = comparisonTable(results);
    io.stdout(`${headlines.join('\n')}\n\n${table}\n\nCaptures in ${flags.out}: ${results.map((r) => r.sqlite).join(', ')}\n`);
    setExit(0);
  });
}
