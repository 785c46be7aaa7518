/**
 * What `moe-trace profile` captures and the exact command lines it runs. Pure: the runner
 * (run.ts) and the bash campaign script (script.ts) both take their argv from here, so a capture
 * made by the script is made by the same command lines as one made by the runner.
 */
import { InputError } from '../errors.js';

export const NATIVE_MODES = ['sequential', 'streams-sync', 'streams', 'grouped', 'graph'] as const;
export const TORCH_MODES = ['sequential', 'streams-sync', 'streams', 'grouped'] as const;
export type WorkloadKind = 'native' | 'torch' | 'all';

/** Where the bundled workload lives and gets built, relative to the moe-trace package root. */
export const WORKLOAD_DIR = 'native-workload';
export const BUILD_DIR = 'native-workload/build';
export const WORKLOAD_BIN = `${BUILD_DIR}/moe-workload`;
export const TORCH_SCRIPT = `${WORKLOAD_DIR}/torch/switch_moe.py`;

/** Workload flags moe-trace passes through; `torch: false` ones exist in the CUDA workload only. */
export const WORKLOAD_FLAGS = [
  { flag: 'preset', torch: false }, { flag: 'experts', torch: true }, { flag: 'tokens', torch: true },
  { flag: 'd-model', torch: true }, { flag: 'd-ff', torch: true }, { flag: 'top-k', torch: false },
  { flag: 'capacity-factor', torch: true }, { flag: 'dtype', torch: true }, { flag: 'skew', torch: false },
  { flag: 'streams', torch: true }, { flag: 'layers', torch: false },
  { flag: 'iterations', torch: true }, { flag: 'warmup', torch: true },
] as const;
export type WorkloadFlag = (typeof WORKLOAD_FLAGS)[number]['flag'];

export interface ProfileRequest {
  workload: WorkloadKind;
  /** modes asked for with --mode; empty with --all or a custom command */
  modes: string[];
  all: boolean;
  /** values of the pass-through workload flags that were given */
  workloadFlags: Partial<Record<WorkloadFlag, string>>;
  /** the user's own program (after `--`); replaces the bundled workload */
  command?: string[];
}

export interface Capture {
  /** file stem of the capture: <name>.nsys-rep, <name>.sqlite, <name>.log */
  name: string;
  workload: 'native' | 'torch' | 'custom';
  argv: string[];
}

/** The captures a request asks for, in order. */
export function planCaptures(req: ProfileRequest): Capture[] {
  if (req.command && req.command.length > 0) {
    if (req.all || req.modes.length > 0) throw new InputError('--mode/--all choose modes of the bundled workload; they cannot be combined with your own command after `--`.');
    const stem = req.command[0].split('/').pop()!.replace(/[^A-Za-z0-9._-]/g, '_') || 'capture';
    return [{ name: stem, workload: 'custom', argv: req.command }];
  }
  if (!req.all && req.modes.length === 0) {
    throw new InputError('say what to capture: --mode M (repeatable), --all, or your own program after `--`.');
  }
  const kinds: ('native' | 'torch')[] = req.workload === 'all' ? ['native', 'torch'] : [req.workload];
  const captures: Capture[] = [];
  for (const kind of kinds) {
    const known: readonly string[] = kind === 'native' ? NATIVE_MODES : TORCH_MODES;
    const modes = req.all ? [...known] : req.modes;
    for (const m of modes) {
      if (!known.includes(m)) {
        throw new InputError(`unknown ${kind} mode "${m}": choose from ${known.join(', ')}.`);
      }
      captures.push(workloadCapture(kind, m, req.workloadFlags));
    }
    // The saturated preset belongs to --all of the CUDA workload: its streams can't overlap
    // because one expert GEMM already fills every SM.
    if (kind === 'native' && req.all && req.workloadFlags.preset === undefined) {
      captures.push({ ...workloadCapture('native', 'streams', { ...req.workloadFlags, preset: 'saturated' }), name: 'saturated' });
    }
  }
  return captures;
}

function workloadCapture(kind: 'native' | 'torch', mode: string, flags: ProfileRequest['workloadFlags']): Capture {
  const args = ['--mode', mode];
  for (const { flag, torch } of WORKLOAD_FLAGS) {
    const v = flags[flag];
    if (v === undefined) continue;
    if (kind === 'torch' && !torch) throw new InputError(`--${flag} exists only in the CUDA workload; drop it or use --workload native.`);
    args.push(`--${flag}`, v);
  }
  if (kind === 'native') return { name: mode, workload: 'native', argv: [WORKLOAD_BIN, ...args] };
  return { name: `torch-${mode}`, workload: 'torch', argv: ['python3', TORCH_SCRIPT, ...args] };
}

/**
 * nsys profile argv. The bundled workloads wrap their timed iterations in cudaProfilerStart/Stop,
 * so the capture holds those alone (no weight init, no reference pass); a user's own program
 * is captured whole. CPU sampling and context switches are off: they add megabytes and need
 * privileges that containers often lack, and no moe-trace analysis reads them.
 */
export function nsysProfileArgs(capture: Capture, outBase: string): string[] {
  const args = ['profile', '--trace=cuda,nvtx,osrt', '--cuda-graph-trace=node', '--sample=none', '--cpuctxsw=none'];
  if (capture.workload !== 'custom') args.push('--capture-range=cudaProfilerApi', '--capture-range-end=stop');
  args.push('--force-overwrite', 'true', '-o', outBase, ...capture.argv);
  return args;
}

/** nsys export argv; without --force-overwrite nsys silently keeps an older .sqlite. */
export function nsysExportArgs(reportPath: string, sqlitePath: string): string[] {
  return ['export', '--type', 'sqlite', '--force-overwrite', 'true', '-o', sqlitePath, reportPath];
}

export function cmakeConfigureArgs(): string[] {
  return ['-S', WORKLOAD_DIR, '-B', BUILD_DIR, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release'];
}

export function cmakeBuildArgs(): string[] {
  return ['--build', BUILD_DIR];
}

/** Quotes one word for bash, only when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\-./=:,@%+]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
