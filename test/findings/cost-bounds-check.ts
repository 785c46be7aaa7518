/**
 * The check of cost-bounds.test.ts (issue 13): no finding's cost exceeds the time of what it blames.
 * Shared by cost-bounds.test.ts (the public corpus), whole-process.test.ts (the whole-process
 * captures, on the Reports it builds anyway) and cost-bounds.long.test.ts (every committed capture).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { windowLength } from '../../src/analyses/window.js';
import { ALLOCATION_CALLS } from '../../src/analyses/api-calls.js';
import { canonicalApiName } from '../../src/analyses/blocking-calls.js';

export function sqliteFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sqliteFiles(p) : n.endsWith('.sqlite') ? [p] : [];
  }).sort();
}

/** Findings whose cost is GPU idle time (n(t) = 0 in W). */
const IDLE_COSTS = new Set(['host-sync-stall', 'launch-bound', 'allocation-in-loop', 'pageable-memcpy', 'many-small-kernels', 'default-stream-serialization']);
/** Findings whose cost is time some kernel ran. */
const BUSY_COSTS = new Set(['sm-saturated', 'exposed-communication']);

export function expectBounded(r: Report): void {
  for (const f of r.findings) {
    const d = r.devices.find((x) => x.deviceId === f.deviceId);
    if (!d) { expect(f.costNs).toBe(0); continue; }
    const what = `${r.input.file} ${d.window.source}: ${f.id} costs ${f.costNs} ns`;
    expect(f.costNs, what).toBeGreaterThanOrEqual(0);
    expect(f.costNs, `${what} > |W|`).toBeLessThanOrEqual(windowLength(d.window));
    if (IDLE_COSTS.has(f.id)) expect(f.costNs, `${what} > the idle time`).toBeLessThanOrEqual(d.gaps.all.total);
    else if (BUSY_COSTS.has(f.id)) expect(f.costNs, `${what} > the busy time`).toBeLessThanOrEqual(d.overlap.busy);
    else expect(f.costNs, `${what}: a symptom, no cost`).toBe(0);
    if (f.id === 'host-sync-stall') {
      // the idle time the host spent blocked: at most the blocking calls' time
      expect(f.costNs, `${what} > GPU idle time under a blocking call`).toBeLessThanOrEqual(d.hostSyncs.gpuIdle);
      expect(f.costNs, `${what} > the host's blocked time`).toBeLessThanOrEqual(d.hostSyncs.totalTime);
    }
    if (f.id === 'pageable-memcpy') expect(f.costNs, what).toBeLessThanOrEqual(d.hostSyncs.totalTime);
    if (f.id === 'allocation-in-loop') {
      const allocTime = r.apiSummary.filter((a) => ALLOCATION_CALLS.has(canonicalApiName(a.name))).reduce((t, a) => t + a.total, 0);
      expect(f.costNs, `${what} > every allocation call's time`).toBeLessThanOrEqual(allocTime);
    }
    if (f.costShare !== null) expect(f.costShare, what).toBeLessThanOrEqual(1);
  }
  // the causes of idle time split it: the classes' totals add up to all of it
  for (const d of r.devices) {
    const sum = Object.values(d.gaps.byClass).reduce((t, c) => t + c.total, 0);
    expect(sum, r.input.file).toBe(d.gaps.all.total);
    expect(d.gaps.byClass['sync-stall'].total, r.input.file).toBeLessThanOrEqual(d.hostSyncs.gpuIdle);
  }
}

export const fixtures = sqliteFiles('fixtures');
