import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow } from '../../src/model/build.js';
import { intervalSet } from '../../src/model/intervals.js';
import { opDuration, opRow, pieceOp, selectOps, type OpSelection } from '../../src/analyses/select.js';

/** Every column as plain arrays, to compare two selections field by field. */
function plain(sel: OpSelection) {
  const a = (x: ArrayLike<number>) => Array.from(x).slice(0, sel.count);
  return {
    count: sel.count, kernelCount: sel.kernelCount, start: a(sel.start), end: a(sel.end),
    row: Array.from({ length: sel.count }, (_, k) => opRow(sel, pieceOp(sel, k))), kind: a(sel.kind),
    streamId: a(sel.streamId), process: a(sel.process), op: Array.from({ length: sel.count }, (_, k) => pieceOp(sel, k)),
    ops: {
      count: sel.ops.count, row: Array.from({ length: sel.ops.count }, (_, o) => opRow(sel, o)), kind: Array.from(sel.ops.kind), duration: Array.from({ length: sel.ops.count }, (_, o) => opDuration(sel, o)),
      streamId: Array.from(sel.ops.streamId), process: Array.from(sel.ops.process),
    },
  };
}

describe('selectOps', () => {
  const kernels: KernelRow[] = [
    { start: 0, end: 10, streamId: 3 }, { start: 5, end: 5, streamId: 4, process: 0 }, { start: 8, end: 30, streamId: 3 }, { start: 30, end: 31, streamId: 9 },
  ];
  it('gives the same selection whether the kernel columns are shared (every kernel, whole, in W) or copied', () => {
    const t = buildTrace({ kernels });
    const w = intervalSet([[0, 31]]);
    const shared = selectOps(t, 0, w);
    // transfers on (there are none) takes the general path
    const copied = selectOps(t, 0, w, { includeTransfers: true });
    expect(plain(shared)).toEqual(plain(copied));
    // shared: the pieces are the kernel rows, so no row, op or duration columns are built
    expect([shared.row, shared.op, shared.ops.row, shared.ops.duration]).toEqual([null, null, null, null]);
    // copied: one piece per operation, in start order, so the pieces are the operations (no op column)
    expect([Array.from(copied.row!), copied.op]).toEqual([[0, 1, 2, 3], null]);
    expect(plain(shared)).toMatchObject({
      count: 4, kernelCount: 4, start: [0, 5, 8, 30], end: [10, 5, 30, 31], streamId: [3, 4, 3, 9], op: [0, 1, 2, 3],
      ops: { duration: [10, 0, 22, 1] },
    });
  });
  it('clips and drops as before when W cuts kernels or another GPU ran some', () => {
    // rows in start order: the other GPU's kernel is row 1
    const t = buildTrace({ kernels: [...kernels, { start: 2, end: 4, deviceId: 1 }] });
    expect(plain(selectOps(t, 0, intervalSet([[0, 31]])))).toMatchObject({ count: 4, row: [0, 2, 3, 4], op: [0, 1, 2, 3] });
    const cut = selectOps(buildTrace({ kernels }), 0, intervalSet([[6, 20]]));
    expect(plain(cut)).toMatchObject({ count: 2, start: [6, 8], end: [10, 20], row: [0, 2], ops: { duration: [4, 12] } });
  });
  it('keeps each operation\'s duration when its pieces are sorted among other tables\' (transfers)', () => {
    const t = buildTrace({ kernels: [{ start: 0, end: 10 }, { start: 20, end: 30 }], memcpy: [{ start: 5, end: 8, bytes: 1024, copyKind: 1 }] });
    const sel = selectOps(t, 0, intervalSet([[0, 30]]), { includeTransfers: true });
    expect(plain(sel)).toMatchObject({
      start: [0, 5, 20], end: [10, 8, 30], op: [0, 2, 1], kind: [0, 1, 0],
      ops: { row: [0, 1, 0], kind: [0, 0, 1], duration: [10, 10, 3] },
    });
  });
});
