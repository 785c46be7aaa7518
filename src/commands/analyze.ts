/** `moe-trace analyze FILE...`: read each export, build its Report, render it. */
import type { Command } from 'commander';
import type { CliIo } from '../cli.js';
import { InputError } from '../errors.js';
import { readNsysSqlite } from '../readers/nsys-sqlite.js';
import { buildReport, type ReportOptions } from '../report/build.js';
import type { Report } from '../report/types.js';
import { renderTerminal } from '../render/terminal.js';
import { renderJson } from '../render/json.js';

export interface AnalyzeFlags {
  json?: boolean;
  device?: string;
  range?: string;
  window?: string;
  includeTransfers?: boolean;
  requireKernels?: boolean;
}

export function registerAnalyze(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program.command('analyze')
    .description('measure kernel overlap, stream occupancy, launch gaps and host syncs in Nsight Systems SQLite exports')
    .argument('<files...>', 'nsys SQLite exports (nsys export --type sqlite ...)')
    .option('--json', 'print the report as JSON (schema: docs/report-schema.md)')
    .option('--device <id>', 'only this GPU (deviceId)')
    .option('--range <text>', 'window = GPU projection of the NVTX ranges with this text (exact, or /regex/)')
    .option('--window <start:end>', 'window in trace time, ns or with units, e.g. 12.5ms:20ms')
    .option('--include-transfers', 'count memcpy/memset as GPU activity in the overlap metrics')
    .option('--require-kernels', 'exit 2 when a trace has no CUDA kernel records')
    .action(async (files: string[], flags: AnalyzeFlags) => {
      const options = reportOptions(flags);
      const reports: Report[] = [];
      for (const file of files) {
        const trace = readNsysSqlite(file);
        if (!trace.hasKernelTable && flags.requireKernels) {
          throw new InputError(`${file} has no CUDA kernel records: kernel tracing was off or unsupported (e.g. WSL). Capture again with \`nsys profile --trace=cuda\` on a native Linux GPU machine.`);
        }
        reports.push(buildReport(trace, options));
      }
      io.stdout(flags.json ? renderJson(reports) : reports.map((r) => renderTerminal(r)).join('\n'));
      setExit(0);
    });
}

export function reportOptions(flags: AnalyzeFlags): ReportOptions {
  const o: ReportOptions = { range: flags.range, window: flags.window, includeTransfers: flags.includeTransfers };
  if (flags.device !== undefined) {
    const d = Number(flags.device);
    if (!Number.isInteger(d) || d < 0) throw new InputError(`--device expects a GPU deviceId (0, 1, ...), got "${flags.device}".`);
    o.device = d;
  }
  if (flags.range !== undefined && flags.window !== undefined) {
    throw new InputError('--range and --window both choose the window: give one of them.');
  }
  return o;
}
