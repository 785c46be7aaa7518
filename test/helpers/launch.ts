import type { LaunchConfig, Trace } from '../../src/model/trace.js';

/** One launch-configuration field per kernel, as the nine columns the model once had held it. */
export function launchColumn(trace: Trace, field: keyof LaunchConfig): number[] {
  return Array.from(trace.kernels.launchConfig.subarray(0, trace.kernels.count), (c) => trace.launchConfigs[c][field]);
}
