/**
 * Communication across ranks (issue 17), for the combined summary (`analyze a b …`, `merge`):
 * each rank's exposed communication, and at each collective the rank the others waited for.
 *
 * The n-th collective of one name on each rank is one collective of the job (ranks issue the same
 * collectives in the same order). A collective kernel starts when its rank launches it and ends
 * when the last rank's data is in, at about the same time on every rank, so the rank that arrived
 * last is the one whose kernel ran shortest, and every other rank waited about its own duration
 * minus that: wait_r = d_r − min d. Durations need no clock shared between ranks (nodes' clocks
 * differ). The rank that arrived last most often, or whose lateness cost the others the most
 * wait, is the one whose compute (or launch) makes the others wait. Only kernels that wait for
 * their peers count (NCCL, DeepEP, …): a copy NCCL makes at world size 1 waits for no one.
 */
import type { CollectiveSequence, CommunicationReport } from './communication.js';

/** What one rank row carries of its communication. */
export interface RankCommunication {
  kernelCount: number;
  busy: number;
  exposed: number;
  hiddenShare: number | null;
  exposedShare: number | null;
  collectives: CollectiveSequence;
}

export interface CollectiveWait {
  /** collective name (e.g. "NCCL: all_to_allv") and its occurrence on every rank, from 0 */
  name: string;
  occurrence: number;
  /** rank index (in CombinedSummary.ranks) that arrived last: the shortest kernel */
  lastRank: number;
  /** Σ over the other ranks of (their duration − the last rank's) */
  waitNs: number;
}

export interface CombinedCommunication {
  /** per rank (index in CombinedSummary.ranks), ranks with communication only */
  perRank: { rank: number; kernelCount: number; busy: number; exposed: number; hiddenShare: number | null; exposedShare: number | null }[];
  totals: { busy: number; exposed: number; hiddenShare: number | null };
  /** collectives found on two or more ranks */
  matched: number;
  /** per rank: collectives it arrived last at and the wait that caused the others */
  lastArrivals: { rank: number; count: number; waitCausedNs: number }[];
  /** the rank whose lateness made the others wait the longest in total; null without matched collectives */
  waitedOn: { rank: number; count: number; share: number; waitCausedNs: number } | null;
  /** the collectives with the most wait, at most WORST_LIMIT */
  worst: CollectiveWait[];
}

export const WORST_LIMIT = 10;

export function rankCommunication(c: CommunicationReport | undefined): RankCommunication | undefined {
  if (!c || c.kernelCount === 0) return undefined;
  return { kernelCount: c.kernelCount, busy: c.busy, exposed: c.exposed, hiddenShare: c.hiddenShare, exposedShare: c.exposedShare, collectives: c.collectives };
}

export function combineCommunication(ranks: ({ communication?: RankCommunication } | undefined)[]): CombinedCommunication | undefined {
  const perRank = ranks.flatMap((r, rank) => (r?.communication ? [{
    rank, kernelCount: r.communication.kernelCount, busy: r.communication.busy, exposed: r.communication.exposed,
    hiddenShare: r.communication.hiddenShare, exposedShare: r.communication.exposedShare,
  }] : []));
  if (perRank.length === 0) return undefined;
  const busy = perRank.reduce((t, r) => t + r.busy, 0);
  const exposed = perRank.reduce((t, r) => t + r.exposed, 0);
  // per rank: name → durations of that name's collectives in order
  const byName = new Map<string, Map<number, number[]>>();
  ranks.forEach((r, rank) => {
    const seq = r?.communication?.collectives;
    if (!seq) return;
    for (let j = 0; j < seq.name.length; j++) {
      // copies wait for no peer: their durations say nothing about who arrived last
      if (seq.waitsForPeers?.[seq.name[j]] === false) continue;
      const name = seq.names[seq.name[j]];
      let m = byName.get(name);
      if (!m) byName.set(name, (m = new Map()));
      let list = m.get(rank);
      if (!list) m.set(rank, (list = []));
      list.push(seq.duration[j]);
    }
  });
  const waits: CollectiveWait[] = [];
  const last = new Map<number, { count: number; waitCausedNs: number }>();
  for (const [name, m] of byName) {
    if (m.size < 2) continue;
    const longest = Math.max(...[...m.values()].map((l) => l.length));
    for (let n = 0; n < longest; n++) {
      const have = [...m].filter(([, l]) => n < l.length).map(([rank, l]) => ({ rank, d: l[n] }));
      if (have.length < 2) continue;
      let min = have[0];
      for (const h of have) if (h.d < min.d) min = h;
      const waitNs = have.reduce((t, h) => t + (h.d - min.d), 0);
      waits.push({ name, occurrence: n, lastRank: min.rank, waitNs });
      const l = last.get(min.rank) ?? { count: 0, waitCausedNs: 0 };
      l.count++; l.waitCausedNs += waitNs;
      last.set(min.rank, l);
    }
  }
  const lastArrivals = [...last].map(([rank, l]) => ({ rank, ...l })).sort((a, b) => b.waitCausedNs - a.waitCausedNs || b.count - a.count || a.rank - b.rank);
  const top = lastArrivals[0];
  return {
    perRank,
    totals: { busy, exposed, hiddenShare: busy > 0 ? 1 - exposed / busy : null },
    matched: waits.length,
    lastArrivals,
    waitedOn: top ? { rank: top.rank, count: top.count, share: top.count / waits.length, waitCausedNs: top.waitCausedNs } : null,
    worst: [...waits].sort((a, b) => b.waitNs - a.waitNs || a.occurrence - b.occurrence).slice(0, WORST_LIMIT),
  };
}
