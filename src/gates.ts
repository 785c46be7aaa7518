/**
 * `--fail-if EXPR`: CI gates over the report's headline numbers, e.g.
 *   --fail-if "overlapShare < 0.2"   --fail-if "syncsPerIteration > 0 || finding.launch-bound > 10%"
 *
 * Grammar: or := and ('||' and)*; and := unary ('&&' unary)*; unary := '!' unary | '(' or ')' | cmp;
 * cmp := operand (< | <= | > | >= | == | !=) operand; operand := number | variable.
 * Numbers take an optional unit: ns, us (or µs, μs), ms, s (model/units.ts: converted to ns) or % (divided by 100).
 * A gate is evaluated on every device of the report and fails when it holds on any of them.
 */
import { GateFailedError, InputError } from './errors.js';
import type { DeviceReport, Report } from './report/types.js';
import { windowLength } from './analyses/window.js';
import { perIteration } from './analyses/per-iteration.js';
import { isTimeUnit, timeUnitNs, TIME_UNIT_PATTERN } from './model/units.js';

/** Every variable a gate may use, with what it means (shown when a name is unknown). */
export const GATE_VARIABLES: Record<string, string> = {
  windowNs: 'analysis window |W| in ns',
  busyNs: 'time with at least one kernel running, ns',
  kernelTimeNs: 'sum of kernel durations, ns',
  kernelCount: 'kernels in the window',
  streams: 'streams that ran kernels in the window',
  utilization: 'busy / |W| (0..1)',
  overlapShare: 'share of busy time with two or more kernels running (0..1)',
  concurrency: 'kernel time / busy (1 = never overlapped)',
  maxConcurrency: 'most kernels ever running at once',
  syncs: 'blocking host synchronisation calls in the window',
  syncIdleNs: 'GPU idle time overlapped by host syncs, ns',
  gapNs: 'total GPU idle time between kernels, ns',
  syncStallNs: 'idle time in gaps classed sync-stall, ns',
  hostWaitNs: 'idle time in gaps classed host-wait, ns',
  launchLatencyNs: 'median kernel start - end of its launch call, ns',
  launchIntervalNs: 'median time between consecutive launch calls on a thread, ns',
  launchBound: '1 when the device is launch-bound, else 0',
  iterations: 'iterations found from repeated NVTX ranges',
  iterationNs: 'median GPU time span of one iteration, ns',
  kernelsPerIteration: 'kernels launched per iteration',
  syncsPerIteration: 'blocking host syncs per iteration',
  findings: 'number of findings on the device (nothing-to-report not counted)',
  highFindings: 'number of high-severity findings on the device',
  'finding.<id>': 'share of the window the finding explains (0 when absent), e.g. finding.host-sync-stall',
  commNs: 'communication busy time (collectives, all-to-all, sync kernels), ns',
  exposedCommNs: 'communication time with no compute kernel beside it, ns',
  commHiddenShare: 'share of communication hidden behind compute (0..1; none without communication)',
};

type Op = '<' | '<=' | '>' | '>=' | '==' | '!=';
type Operand = { kind: 'number'; value: number; text: string } | { kind: 'variable'; name: string };
export type GateExpr =
  | { kind: 'cmp'; op: Op; left: Operand; right: Operand }
  | { kind: 'and' | 'or'; left: GateExpr; right: GateExpr }
  | { kind: 'not'; expr: GateExpr };

const unitValue = (u: string): number => (u === '%' ? 0.01 : isTimeUnit(u) ? timeUnitNs(u) : NaN);
const TOKEN = new RegExp(`\\s*(?:(\\|\\||&&|<=|>=|==|!=|<|>|!|\\(|\\))|(-?\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?)(${TIME_UNIT_PATTERN}|%)?|([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z0-9_-]+)?))`, 'y');

type Token = { type: 'op'; value: string } | { type: 'number'; value: number; text: string } | { type: 'name'; value: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < expr.length) {
    if (/^\s*$/.test(expr.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(expr);
    if (!m) throw new InputError(`--fail-if "${expr}": cannot read "${expr.slice(pos).trim()}"; write comparisons like "overlapShare < 0.2" joined by && or ||.`);
    pos = TOKEN.lastIndex;
    if (m[1]) tokens.push({ type: 'op', value: m[1] });
    else if (m[2]) tokens.push({ type: 'number', value: Number(m[2]) * (m[3] ? unitValue(m[3]) : 1), text: m[2] + (m[3] ?? '') });
    else tokens.push({ type: 'name', value: m[4] });
  }
  return tokens;
}

function isKnownVariable(name: string): boolean {
  return name in GATE_VARIABLES || /^finding\.[a-z0-9-]+$/.test(name);
}

/** Parses one gate; InputError on bad syntax or an unknown variable (listing the known ones). */
export function parseGate(expr: string): GateExpr {
  const tokens = tokenize(expr);
  let i = 0;
  const fail = (what: string): never => {
    throw new InputError(`--fail-if "${expr}": ${what}; write comparisons like "overlapShare < 0.2" joined by && or ||.`);
  };
  const peek = (): Token | undefined => tokens[i];
  const operand = (): Operand => {
    const t = tokens[i++];
    if (!t) return fail('expression ends too early');
    if (t.type === 'number') return { kind: 'number', value: t.value, text: t.text };
    if (t.type === 'name') {
      if (!isKnownVariable(t.value)) {
        throw new InputError(`--fail-if "${expr}": unknown variable "${t.value}"; known: ${Object.keys(GATE_VARIABLES).join(', ')}.`);
      }
      return { kind: 'variable', name: t.value };
    }
    return fail(`expected a number or variable, found "${t.value}"`);
  };
  const unary = (): GateExpr => {
    const t = peek();
    if (t?.type === 'op' && t.value === '!') { i++; return { kind: 'not', expr: unary() }; }
    if (t?.type === 'op' && t.value === '(') {
      i++;
      const inner = or();
      const close = tokens[i++];
      if (!close || close.type !== 'op' || close.value !== ')') fail('missing ")"');
      return inner;
    }
    const left = operand();
    const op = tokens[i++];
    if (!op || op.type !== 'op' || !['<', '<=', '>', '>=', '==', '!='].includes(op.value)) {
      return fail(`expected a comparison (<, <=, >, >=, ==, !=) after "${left.kind === 'number' ? left.text : left.name}"`);
    }
    return { kind: 'cmp', op: op.value as Op, left, right: operand() };
  };
  const and = (): GateExpr => {
    let left = unary();
    while (peek()?.type === 'op' && peek()?.value === '&&') { i++; left = { kind: 'and', left, right: unary() }; }
    return left;
  };
  const or = (): GateExpr => {
    let left = and();
    while (peek()?.type === 'op' && peek()?.value === '||') { i++; left = { kind: 'or', left, right: and() }; }
    return left;
  };
  if (tokens.length === 0) fail('empty expression');
  const tree = or();
  if (i < tokens.length) {
    const t = tokens[i];
    fail(`unexpected "${t.type === 'number' ? t.text : t.value}"`);
  }
  return tree;
}

function median(d: { count: number; median: number }): number | null {
  return d.count > 0 ? d.median : null;
}

/** The values of every gate variable for one device of the report (null: not known for this trace). */
export function gateVariables(report: Report, device: DeviceReport): Map<string, number | null> {
  const o = device.overlap;
  const it = device.nvtxRanges?.iterations ?? null;
  const findings = report.findings.filter((f) => f.deviceId === device.deviceId && f.id !== 'nothing-to-report');
  const v = new Map<string, number | null>([
    ['windowNs', windowLength(device.window)],
    ['busyNs', o.busy],
    ['kernelTimeNs', o.kernelTime],
    ['kernelCount', o.kernelCount],
    ['streams', device.streams.filter((s) => s.kernelCount > 0).length],
    ['utilization', o.utilization],
    ['overlapShare', o.overlapShare],
    ['concurrency', o.concurrency],
    ['maxConcurrency', o.maxConcurrency],
    ['syncs', device.hostSyncs.count],
    ['syncIdleNs', device.hostSyncs.gpuIdle],
    ['gapNs', device.gaps.all.total],
    ['syncStallNs', device.gaps.byClass['sync-stall'].total],
    ['hostWaitNs', device.gaps.byClass['host-wait'].total],
    ['launchLatencyNs', median(device.launch.latency)],
    ['launchIntervalNs', median(device.launch.interval)],
    ['launchBound', device.launch.launchBound ? 1 : 0],
    ['iterations', it ? it.count : 0],
    ['iterationNs', it ? median(it.duration) : null],
    ['kernelsPerIteration', it ? perIteration(device, it).kernels : null],
    ['syncsPerIteration', it ? perIteration(device, it).syncs : null],
    ['findings', findings.length],
    ['highFindings', findings.filter((f) => f.severity === 'high').length],
    ['commNs', device.communication?.busy ?? 0],
    ['exposedCommNs', device.communication?.exposed ?? 0],
    ['commHiddenShare', device.communication?.hiddenShare ?? null],
  ]);
  for (const f of findings) {
    const key = `finding.${f.id}`;
    v.set(key, Math.max(v.get(key) ?? 0, f.costShare ?? 0));
  }
  return v;
}

interface Evaluation { holds: boolean; used: Map<string, number | null> }

function evaluate(e: GateExpr, vars: Map<string, number | null>, used: Map<string, number | null>, deviceId: number): boolean {
  switch (e.kind) {
    case 'not': return !evaluate(e.expr, vars, used, deviceId);
    case 'and': return evaluate(e.left, vars, used, deviceId) && evaluate(e.right, vars, used, deviceId);
    case 'or': return evaluate(e.left, vars, used, deviceId) || evaluate(e.right, vars, used, deviceId);
    case 'cmp': {
      const value = (x: Operand): number | null => {
        if (x.kind === 'number') return x.value;
        // finding.<id> of a finding the device does not have: it explains nothing
        const v = vars.has(x.name) ? vars.get(x.name) ?? null : x.name.startsWith('finding.') ? 0 : null;
        used.set(x.name, v);
        return v;
      };
      const a = value(e.left);
      const b = value(e.right);
      if (a === null || b === null) {
        const name = [e.left, e.right].map((x) => (x.kind === 'variable' && used.get(x.name) === null ? x.name : '')).find((n) => n) ?? '?';
        throw new InputError(`--fail-if: ${name} is not known for device ${deviceId} of this trace${/Iteration|^iteration/.test(name) ? ' (it needs repeated NVTX ranges such as "iteration N" or "forward")' : ''}; gate on another variable.`);
      }
      switch (e.op) {
        case '<': return a < b;
        case '<=': return a <= b;
        case '>': return a > b;
        case '>=': return a >= b;
        case '==': return a === b;
        case '!=': return a !== b;
      }
    }
  }
}

export function evaluateGate(expr: GateExpr, vars: Map<string, number | null>, deviceId = 0): Evaluation {
  const used = new Map<string, number | null>();
  return { holds: evaluate(expr, vars, used, deviceId), used };
}

function formatValue(v: number | null): string {
  if (v === null) return 'unknown';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

export interface GateOutcome {
  expr: string;
  deviceId: number;
  failed: boolean;
  values: Record<string, number | null>;
}

/** Evaluates every gate on every device; parse errors surface before any evaluation. */
export function evaluateGates(exprs: string[], report: Report): GateOutcome[] {
  const parsed = exprs.map((e) => ({ text: e, tree: parseGate(e) }));
  const out: GateOutcome[] = [];
  for (const device of report.devices) {
    const vars = gateVariables(report, device);
    for (const g of parsed) {
      const r = evaluateGate(g.tree, vars, device.deviceId);
      out.push({ expr: g.text, deviceId: device.deviceId, failed: r.holds, values: Object.fromEntries(r.used) });
    }
  }
  return out;
}

/** Throws GateFailedError (exit 3) naming each failed gate with the values it saw. */
export function enforceGates(exprs: string[], report: Report): GateOutcome[] {
  if (exprs.length === 0) return [];
  if (report.devices.length === 0) {
    throw new InputError('--fail-if: the trace has no GPU kernels in the window, so there is nothing to gate on.');
  }
  const outcomes = evaluateGates(exprs, report);
  const failed = outcomes.filter((o) => o.failed);
  if (failed.length > 0) {
    const lines = failed.map((o) => {
      const values = Object.entries(o.values).map(([k, v]) => `${k} = ${formatValue(v)}`).join(', ');
      return `gate failed on device ${o.deviceId}: ${o.expr} (${values})`;
    });
    throw new GateFailedError(lines.join('\n'));
  }
  return outcomes;
}
