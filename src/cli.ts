/**
 * Entry point: parses arguments with commander, dispatches to src/commands/*, and is the one
 * place where errors become messages and exit codes (2 bad input, 3 gate failed, 1 our bug).
 */
import { Command, CommanderError } from 'commander';
import { GateFailedError, isUserFacing } from './errors.js';
import { VERSION } from './version.js';
import { printable, printableLine } from './render/format.js';
import { registerAnalyze, TRACE_NAME } from './commands/analyze.js';
import { registerInfo } from './commands/info.js';
import { registerProfile } from './commands/profile.js';
import { registerCompare } from './commands/compare.js';
import { registerMerge } from './commands/merge.js';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const defaultIo: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

/**
 * `analyze --html report.sqlite` (or `compare --html a.sqlite b.sqlite`): commander gives the
 * optional value of --html to the trace, so the first read "missing required argument" and the
 * second wrote the HTML over a.sqlite. A value named like a trace is a file to read: --html then
 * goes to the end of the arguments, taking no value (the default path).
 */
export function htmlFlagBeforeTrace(argv: string[]): string[] {
  const command = argv.find((a) => !a.startsWith('-'));
  if (command !== 'analyze' && command !== 'compare') return argv;
  const out = [...argv];
  let moved = 0;
  for (let i = 0; i < out.length - 1; i++) {
    if (out[i] === '--') break;
    if (out[i] === '--html' && TRACE_NAME.test(out[i + 1])) {
      out.splice(i, 1);
      moved++;
      i--;
    }
  }
  if (moved === 0) return argv;
  const end = out.indexOf('--');
  out.splice(end < 0 ? out.length : end, 0, '--html');
  return out;
}

/** Runs the CLI; resolves to the exit code. Never throws. */
export async function main(argv: string[], rawIo: CliIo = defaultIo): Promise<number> {
  const debug = argv.includes('--debug');
  // Everything printed quotes trace strings (kernel and NVTX names, file names) that may carry
  // terminal control sequences or bidi overrides: make them visible escapes. JSON stays valid
  // (only characters inside strings change, to \uXXXX escapes of the same value).
  const io: CliIo = { stdout: (s) => rawIo.stdout(printable(s)), stderr: (s) => rawIo.stderr(printable(s)) };
  let exitCode = 0;
  const program = new Command('moe-trace')
    .description("Explains why a Mixture-of-Experts layer's experts do or don't run concurrently on the GPU, from Nsight Systems traces.")
    .version(VERSION)
    .option('--debug', 'show stack traces for internal errors')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)');
  const setExit = (code: number): void => { exitCode = code; };
  registerAnalyze(program, io, setExit);
  registerInfo(program, io, setExit);
  registerProfile(program, io, setExit);
  registerCompare(program, io, setExit);
  registerMerge(program, io, setExit);
  try {
    await program.parseAsync(htmlFlagBeforeTrace(argv), { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its message; help and version exit 0
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isUserFacing(e)) {
      // messages quote file names and trace text: one line each, nothing a terminal would act on
      const lines = e instanceof GateFailedError ? e.message.split('\n').map(printableLine) : [printableLine(e.message)];
      io.stderr(lines.map((l) => `moe-trace: ${l}\n`).join(''));
      if (debug && e.stack) io.stderr(`${e.stack}\n`);
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.stderr(`moe-trace: internal error: ${printableLine(err.message)}\n`);
    io.stderr(debug ? `${err.stack ?? ''}\n` : 'This is a bug in moe-trace; run again with --debug for the stack trace and report it.\n');
    return 1;
  }
}
