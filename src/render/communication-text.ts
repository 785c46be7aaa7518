/**
 * Communication (issue 17) as text: the short report's one line per device and the tables
 * behind it (terminal --full and the HTML page draw them, src/render/tables.ts). Reads only
 * DeviceReport.communication.
 */
import type { DeviceReport } from '../report/types.js';
import type { CommunicationReport } from '../report/communication.js';
import { formatBytes, formatCount, formatNs, formatPct, textTable } from './format.js';
import type { CombinedCommunication } from '../report/combined-communication.js';
import type { Table, TableOptions } from './tables.js';

/** "GPU 0: communication 46.88 ms in 21 kernels (NCCL), 39.56 ms exposed (hidden share 15.6%); most exposed: backward 30.1 ms"; null without communication. */
export function communicationLine(d: DeviceReport): string | null {
  const c = d.communication;
  if (!c || c.kernelCount === 0) return null;
  const families = [...new Set(c.kernels.map((k) => k.family.replace(/:.*$/, '')))].slice(0, 3).join(', ');
  let line = `GPU ${d.deviceId}: communication ${formatNs(c.busy)} in ${formatCount(c.kernelCount)} operation${c.kernelCount === 1 ? '' : 's'} (${families}), ` +
    `${formatNs(c.exposed)} exposed with no compute beside it (hidden share ${formatPct(c.hiddenShare)}, ${formatPct(c.exposedShare)} of the window)`;
  const worst = c.byPhase.filter((p) => p.exposed > 0 && p.phase !== 'none').sort((a, b) => b.exposed - a.exposed)[0];
  if (worst) line += `; most exposed phase: ${phaseName(worst)} ${formatNs(worst.exposed)}`;
  return line;
}

function phaseName(p: CommunicationReport['byPhase'][number]): string {
  return `${p.phase === 'none' ? '(no phase range)' : p.phase}${p.microBatch !== null ? ` mb${p.microBatch}` : ''}`;
}

/** The communication tables of a device: summary, kernels, phases, and what was classified how. */
export function communicationTables(d: DeviceReport, options: TableOptions): Table[] {
  const c = d.communication;
  if (!c) return [];
  const p = d.deviceId;
  const out: Table[] = [];
  if (c.kernelCount > 0) {
    out.push({
      key: 'communication', caption: `GPU ${p}: communication vs compute (exposed = communication while no compute kernel runs)`,
      header: ['metric', 'value'], rows: [
        ['communication operations', formatCount(c.kernelCount)],
        ['communication busy', formatNs(c.busy)],
        ['exposed (no compute beside it)', `${formatNs(c.exposed)} (${formatPct(c.exposedShare)} of the window)`],
        ['hidden behind compute', formatNs(c.hidden)],
        ['hidden share (1 - exposed / busy)', formatPct(c.hiddenShare)],
        ['sync kernels alone (barriers, waits)', formatNs(c.syncOnly)],
        ['compute busy', formatNs(c.computeBusy)],
        ...(c.classesFile ? [['class patterns from', c.classesFile]] : []),
      ],
    });
    const k = c.kernels.slice(0, options.maxRows);
    out.push({
      key: 'communication-kernels', caption: `GPU ${p}: communication operations, most time first`,
      header: ['name', 'class', 'family', 'count', 'time', 'exposed', 'exposed share', 'bytes', 'algorithm bandwidth'],
      rows: k.map((x) => [cut(x.name, options.maxName), x.class, x.family, formatCount(x.count), formatNs(x.time), formatNs(x.exposed), formatPct(x.time > 0 ? x.exposed / x.time : null),
        x.messageBytes === undefined ? '–' : formatBytes(x.messageBytes),
        x.algorithmBandwidth === undefined || x.algorithmBandwidth === null ? '–' : `${(x.algorithmBandwidth / 1e9).toFixed(1)} GB/s`]),
      more: c.kernels.length - k.length,
    });
    if (c.byPhase.length > 0) {
      out.push({
        key: 'communication-phases', caption: `GPU ${p}: communication by phase (from NVTX / record_function ranges around the launches)`,
        header: ['phase', 'micro-batch', 'operations', 'busy', 'exposed', 'hidden share'],
        rows: c.byPhase.map((x) => [x.phase === 'none' ? '(no phase range)' : x.phase, x.microBatch === null ? '-' : String(x.microBatch), formatCount(x.kernels), formatNs(x.busy), formatNs(x.exposed), formatPct(x.hiddenShare)]),
        note: 'An operation counts in the innermost phase range around its launch call; phases that run at once each count their own.',
      });
    }
    const slowed = c.contention.filter((e) => e.slowdown !== null);
    if (slowed.length > 0) {
      out.push({
        key: 'communication-contention', caption: `GPU ${p}: communication kernels alone vs beside other kernels`,
        header: ['kernel', 'launch', 'alone (median)', 'beside others (median)', 'slowdown'],
        rows: slowed.slice(0, options.maxRows).map((e) => [cut(e.name, options.maxName), e.config, formatNs(e.alone.median ?? 0), formatNs(e.overlapped.median ?? 0), `${e.slowdown!.toFixed(2)}x`]),
      });
    }
  }
  out.push({
    key: 'kernel-classes', caption: `GPU ${p}: kernel classes (what was classified how)`,
    header: ['class', 'operations', 'time', 'busy', 'names', 'largest (family)'],
    rows: c.classes.map((x) => [x.class, formatCount(x.count), formatNs(x.time), formatNs(x.busy), formatCount(x.names),
      x.top.slice(0, 3).map((n) => `${cut(n.name, 40)} (${n.family}${n.source !== 'builtin' && n.source !== 'default' ? `, ${n.source}` : ''})`).join('; ')]),
    note: 'communication and sync kernels count as communication; expert-gemm and compute kernels hide it; memory operations do neither. Re-file kernels with --classes FILE (docs/kernel-classes.md).',
  });
  return out;
}

function cut(name: string, max: number): string {
  const bare = name.replace(/\(.*$/s, '') || name;
  return bare.length > max ? `${bare.slice(0, max - 1)}…` : bare;
}

/** The combined summary's communication part: per-rank exposed communication and who made the others wait. */
export function combinedCommunicationLines(c: CombinedCommunication | undefined, files: { file: string; deviceId: number }[]): string[] {
  if (!c) return [];
  const who = (rank: number): string => `rank ${rank} (${files[rank]?.file ?? '?'} GPU ${files[rank]?.deviceId ?? '?'})`;
  const out = ['', `Communication across ranks: ${formatNs(c.totals.exposed)} exposed of ${formatNs(c.totals.busy)} (hidden share ${formatPct(c.totals.hiddenShare)})`];
  out.push(textTable(['rank', 'operations', 'communication', 'exposed', 'hidden share', 'exposed / window'],
    c.perRank.map((r) => [String(r.rank), formatCount(r.kernelCount), formatNs(r.busy), formatNs(r.exposed), formatPct(r.hiddenShare), formatPct(r.exposedShare)])));
  if (c.waitedOn) {
    const w = c.waitedOn;
    out.push(`Waited on: ${who(w.rank)} arrived last at ${formatCount(w.count)} of ${formatCount(c.matched)} collectives (${formatPct(w.share)}), ` +
      `costing the other ranks ${formatNs(w.waitCausedNs)} of waiting inside the collectives: its compute before them is what to shorten.`);
    for (const x of c.worst.slice(0, 3)) out.push(`  ${x.name} #${x.occurrence}: ${who(x.lastRank)} last, others waited ${formatNs(x.waitNs)}`);
  } else if (c.perRank.length > 1) {
    out.push('No collective kernel lines up across ranks (only copies, which wait for no peer; or the names differ): who waited for whom cannot be told.');
  }
  return out;
}
