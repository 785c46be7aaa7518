/**
 * The expert-level charts of a device (issue 15) on the HTML page: tokens vs GPU time per expert
 * (the straggler marked), and the what-if bars (projected time per iteration per scenario beside
 * the measurement). Their tables come with every other table (src/render/experts-text.ts).
 */
import { WHAT_IF_SCENARIOS } from '../../report/expert-types.js';
import type { DeviceReport } from '../../report/types.js';
import { formatNs } from '../format.js';
import { measuredText, scenarioName } from '../experts-text.js';
import { WIDTH, type Chart, type VlSpec } from './specs.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const UNIT_LABEL = "datum.value >= 1e6 ? format(datum.value / 1e6, '~g') + ' ms' : datum.value >= 1e3 ? format(datum.value / 1e3, '~g') + ' µs' : format(datum.value, '~g') + ' ns'";

export function expertsSpec(d: DeviceReport): VlSpec | null {
  const x = d.experts;
  if (!x) return null;
  const withTokens = x.experts.every((e) => e.tokens !== null);
  const values = x.experts.map((e) => ({
    expert: e.expert, name: e.name, tokens: e.tokens, gpuTime: e.gpuTime, gpuTimeText: formatNs(e.gpuTime), kernels: e.kernels,
    role: e.expert === x.straggler ? 'straggler' : 'expert',
  }));
  const straggler = x.straggler !== null ? x.experts.find((e) => e.expert === x.straggler) : undefined;
  return {
    $schema: SCHEMA,
    title: {
      text: `GPU ${d.deviceId}: ${withTokens ? 'tokens vs GPU time' : 'GPU time'} per expert`,
      subtitle: `max/mean GPU time ${x.imbalance?.toFixed(2) ?? 'n/a'}x` + (x.tokenImbalance !== null ? `, tokens ${x.tokenImbalance.toFixed(2)}x` : '') +
        (straggler ? `; straggler: ${straggler.name} (${formatNs(straggler.gpuTime)})` : ''),
    },
    width: WIDTH, height: 220,
    data: { values },
    mark: withTokens ? { type: 'point', filled: true, size: 60 } : { type: 'bar' },
    encoding: {
      x: withTokens ? { field: 'tokens', type: 'quantitative', title: 'tokens routed (NVTX payload)' } : { field: 'expert', type: 'ordinal', title: 'expert' },
      y: { field: 'gpuTime', type: 'quantitative', title: 'GPU time per instance', axis: { labelExpr: UNIT_LABEL } },
      color: { field: 'role', type: 'nominal', scale: { domain: ['expert', 'straggler'], range: ['#4e79a7', '#d62728'] }, title: null },
      tooltip: [{ field: 'name', title: 'expert' }, { field: 'tokens', title: 'tokens' }, { field: 'gpuTimeText', title: 'GPU time' }, { field: 'kernels', title: 'kernels' }],
    },
  };
}

export function whatIfSpec(d: DeviceReport): VlSpec | null {
  const w = d.whatIf;
  if (!w || w.scenarios.length <= 1) return null;
  const values = [
    { scenario: 'measured in the trace', ns: w.measuredIterationNs, text: formatNs(w.measuredIterationNs), kind: 'measured' },
    ...w.scenarios.map((s) => ({
      scenario: scenarioName(s.scenario), ns: s.projectedIterationNs, text: `${formatNs(s.projectedIterationNs)} (${s.ratio.toFixed(2)}x)`,
      kind: s.scenario === 'measured' ? 'replay' : 'projection', description: s.description,
    })),
  ];
  return {
    $schema: SCHEMA,
    title: {
      text: `GPU ${d.deviceId}: what a fix would gain, per iteration`,
      subtitle: [`a replay of the trace (error ${(100 * w.replayError).toFixed(1)}% unchanged), ${w.iterations} iteration${w.iterations === 1 ? '' : 's'} (${w.iterationSource}); measured ${measuredText(w)}`,
        ...(w.notProjected ?? []).map((x) => `${scenarioName(x.scenario)}: not projected (somewhere from ${formatNs(x.lowNs)} to ${formatNs(x.highNs)}: the expert GEMMs' weights are unknown)`)],
    },
    width: WIDTH, height: 26 * values.length,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'scenario', type: 'nominal', sort: null, title: null },
      x: { field: 'ns', type: 'quantitative', title: 'time per iteration', axis: { labelExpr: UNIT_LABEL } },
      color: { field: 'kind', type: 'nominal', scale: { domain: ['measured', 'replay', 'projection'], range: ['#7f7f7f', '#bab0ac', '#59a14f'] }, title: null },
      tooltip: [{ field: 'scenario' }, { field: 'text', title: 'per iteration' }, { field: 'description', title: 'what changed' }],
    },
  };
}

/** The device's expert charts, ids `${prefix}-experts` and `${prefix}-what-if`; none when there is nothing to draw. */
export function expertCharts(d: DeviceReport, prefix: string): Chart[] {
  const out: Chart[] = [];
  const e = expertsSpec(d);
  if (e) out.push({ id: `${prefix}-experts`, kind: 'experts', spec: e });
  const w = whatIfSpec(d);
  if (w) out.push({ id: `${prefix}-what-if`, kind: 'what-if', spec: w });
  return out;
}

/**
 * The comparison page's what-if chart: per input, its measured time per iteration and each
 * scenario's projection, side by side on one axis, so a later capture's measurement can be read
 * against the first one's projections. Null when no input has a replay with scenarios.
 */
export function compareWhatIfSpec(inputs: { report: { input: { file: string }; devices: DeviceReport[] } }[]): VlSpec | null {
  const values: { trace: string; what: string; ns: number; text: string }[] = [];
  const traces: string[] = [];
  for (const input of inputs) {
    const d = [...input.report.devices].sort((a, b) => b.overlap.kernelTime - a.overlap.kernelTime || a.deviceId - b.deviceId)[0];
    const w = d?.whatIf;
    if (!w) continue;
    const trace = `${input.report.input.file.split('/').pop()} · GPU ${d.deviceId}`;
    traces.push(trace);
    values.push({ trace, what: 'measured', ns: w.measuredIterationNs, text: formatNs(w.measuredIterationNs) });
    for (const s of w.scenarios) {
      if (s.scenario === 'measured') continue;
      values.push({ trace, what: scenarioName(s.scenario), ns: s.projectedIterationNs, text: `${formatNs(s.projectedIterationNs)} (${s.ratio.toFixed(2)}x)` });
    }
  }
  if (values.length <= traces.length) return null;
  const order = ['measured', ...WHAT_IF_SCENARIOS.map(scenarioName)];
  return {
    $schema: SCHEMA,
    title: { text: 'Measured vs projected, per iteration', subtitle: "each capture's measurement beside what its what-if replay projects for each fix" },
    width: WIDTH - 300, height: { step: 12 },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'trace', type: 'nominal', sort: traces, title: null, axis: { labelLimit: 280 } },
      yOffset: { field: 'what', type: 'nominal', sort: order },
      x: { field: 'ns', type: 'quantitative', title: 'time per iteration', axis: { labelExpr: UNIT_LABEL } },
      color: { field: 'what', type: 'nominal', sort: order, scale: { domain: order, range: ['#7f7f7f', '#4e79a7', '#f28e2b', '#59a14f', '#b07aa1'] }, title: null },
      tooltip: [{ field: 'trace' }, { field: 'what', title: 'scenario' }, { field: 'text', title: 'per iteration' }],
    },
  };
}
