import { describe, expect, it } from 'vitest';
import { buildTrace } from '../src/model/build.js';
import { buildReport } from '../src/report/build.js';
import { enforceGates, gateVariables } from '../src/gates.js';
import { GateFailedError } from '../src/errors.js';

const NCCL = 'ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)';

describe('--fail-if on communication', () => {
  const report = buildReport(buildTrace({ kernels: [
    { start: 0, end: 1000, name: NCCL, streamId: 1 }, { start: 250, end: 1000, name: 'gemm', streamId: 2 },
  ] }));

  it('commNs, exposedCommNs and commHiddenShare', () => {
    const v = gateVariables(report, report.devices[0]);
    expect([v.get('commNs'), v.get('exposedCommNs'), v.get('commHiddenShare')]).toEqual([1000, 250, 0.75]);
    expect(() => enforceGates(['exposedCommNs > 200ns'], report)).toThrow(GateFailedError);
    expect(enforceGates(['commHiddenShare < 70%'], report)).toHaveLength(1);
  });
});
