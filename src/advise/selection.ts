import type { IndexCandidate } from './indexCandidate.js';
import type { WhatIfEvaluator } from './whatIf.js';
import type { AdvisorQuery } from './workload.js';

/** Limits on what the advisor may propose for the whole workload. */
export interface AdvisorBudget {
  /** Total estimated bytes of the proposed indexes (real on-disk bytes, not HypoPG's guess); null = no limit. */
  maxBytes: number | null;
  maxIndexes: number;
  /** Total extra write time the proposed indexes may add, as a fraction of the workload's read time. */
  maxWriteCostFraction: number;
}

/** A read query of the workload with its weight and its tables. */
export interface WeightedQuery {
  query: AdvisorQuery;
  /** Its share of the workload: total ms when known, else calls × baseline cost. */
  weight: number;
  baselineCost: number;
  tables: ReadonlySet<string>;
}

/** A candidate with what selection needs to know of it. */
export interface SizedCandidate {
  candidate: IndexCandidate;
  signature: string;
  bytes: number;
  /** Extra time per window the index adds to writes (same unit as the weights). */
  writeCost: number;
}

/** One chosen index with the evidence of its choice. */
export interface Selected extends SizedCandidate {
  /** Predicted saving (weight units) when added, net of nothing. */
  benefit: number;
}

/** The outcome of selection: chosen indexes, final cost per query, and why others were left out. */
export interface SelectionResult {
  selected: Selected[];
  finalCosts: Map<AdvisorQuery, number>;
  rejected: Array<{ signature: string; reason: string }>;
}

function configFor(query: WeightedQuery, indexes: readonly SizedCandidate[]): IndexCandidate[] {
  return indexes.filter((index) => query.tables.has(index.candidate.table)).map((index) => index.candidate);
}

/**
 * Greedy selection for the whole workload: each round adds the candidate with the largest net
 * saving (read saving minus write cost) that fits the budgets, re-evaluating every affected query
 * with the indexes already chosen; then drops chosen indexes that later ones made useless.
 * Ties break on size, then signature, so identical input gives identical output.
 */
export async function selectIndexes(
  evaluator: WhatIfEvaluator,
  queries: readonly WeightedQuery[],
  candidates: readonly SizedCandidate[],
  budget: AdvisorBudget,
  minBenefit: number,
  totalWeight: number,
): Promise<SelectionResult> {
  const selected: Selected[] = [];
  const current = new Map<AdvisorQuery, number>(queries.map((query) => [query.query, query.baselineCost]));
  const reasons = new Map<string, string>();
  let usedBytes = 0;
  let writeCost = 0;

  const evaluate = async (indexes: readonly SizedCandidate[], affected: readonly WeightedQuery[]) => {
    const costs = new Map<AdvisorQuery, number>();
    for (const query of affected) costs.set(query.query, (await evaluator.cost(query.query, configFor(query, indexes))) ?? query.baselineCost);
    return costs;
  };
  const savingOf = (affected: readonly WeightedQuery[], costs: Map<AdvisorQuery, number>) =>
    affected.reduce((sum, query) => sum + (query.weight * Math.max(0, current.get(query.query)! - costs.get(query.query)!)) / Math.max(query.baselineCost, 1e-9), 0);

  while (selected.length < budget.maxIndexes) {
    let best: { candidate: SizedCandidate; net: number; benefit: number; costs: Map<AdvisorQuery, number> } | null = null;
    for (const candidate of candidates) {
      if (selected.some((chosen) => chosen.signature === candidate.signature)) continue;
      const affected = queries.filter((query) => query.tables.has(candidate.candidate.table));
      if (affected.length === 0) continue;
      const costs = await evaluate([...selected, candidate], affected);
      const benefit = savingOf(affected, costs);
      if (benefit <= 0) {
        reasons.set(candidate.signature, 'the planner would not use it, or it saves nothing over the indexes chosen');
        continue;
      }
      if (candidate.writeCost >= benefit) {
        reasons.set(candidate.signature, `its write cost (${candidate.writeCost.toFixed(1)}) exceeds its read benefit (${benefit.toFixed(1)})`);
        continue;
      }
      const net = benefit - candidate.writeCost;
      if (net < minBenefit) {
        reasons.set(candidate.signature, 'its net saving is below the minimum benefit');
        continue;
      }
      if (budget.maxBytes !== null && usedBytes + candidate.bytes > budget.maxBytes) {
        reasons.set(candidate.signature, 'it does not fit the size budget');
        continue;
      }
      if (writeCost + candidate.writeCost > budget.maxWriteCostFraction * totalWeight) {
        reasons.set(candidate.signature, 'it does not fit the write-overhead budget');
        continue;
      }
      const better =
        !best || net > best.net + 1e-9 || (Math.abs(net - best.net) <= 1e-9 && (candidate.bytes < best.candidate.bytes || (candidate.bytes === best.candidate.bytes && candidate.signature < best.candidate.signature)));
      if (better) best = { candidate, net, benefit, costs };
    }
    if (!best) break;
    selected.push({ ...best.candidate, benefit: best.benefit });
    reasons.delete(best.candidate.signature);
    for (const [query, cost] of best.costs) current.set(query, cost);
    usedBytes += best.candidate.bytes;
    writeCost += best.candidate.writeCost;
  }

  // A chosen index that later, wider ones made redundant costs space and writes for nothing: drop it.
  for (const chosen of [...selected]) {
    const others = selected.filter((index) => index !== chosen);
    const affected = queries.filter((query) => query.tables.has(chosen.candidate.table));
    const without = await evaluate(others, affected);
    const loss = affected.reduce((sum, query) => sum + (query.weight * Math.max(0, without.get(query.query)! - current.get(query.query)!)) / Math.max(query.baselineCost, 1e-9), 0);
    if (loss - chosen.writeCost < minBenefit) {
      selected.splice(selected.indexOf(chosen), 1);
      reasons.set(chosen.signature, 'made redundant by the other chosen indexes');
      for (const [query, cost] of without) current.set(query, cost);
    }
  }
  const rejected = [...reasons.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([signature, reason]) => ({ signature, reason }));
  return { selected, finalCosts: current, rejected };
}
