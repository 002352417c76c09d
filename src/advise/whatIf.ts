import type { IndexCandidate } from './indexCandidate.js';
import type { AdvisorQuery } from './workload.js';

/** Answers "what would this query cost if these indexes existed?" without building them. */
export interface WhatIfEvaluator {
  readonly kind: 'hypopg' | 'statistics';
  /** HypoPG asks the real planner (high); the statistics-only model is a rough guess (low). */
  readonly confidence: 'high' | 'low';
  /** The planner's total cost of a query with the existing indexes plus `config`; null if it cannot be planned. */
  cost(query: AdvisorQuery, config: readonly IndexCandidate[]): Promise<number | null>;
  /** Why `cost` returned null for this query (PostgreSQL's message), or null when it did not. */
  planningFailure(query: AdvisorQuery): string | null;
  /** The evaluator's own size estimate of a hypothetical index, or null when it has none. */
  hypotheticalBytes(candidate: IndexCandidate): Promise<number | null>;
  /** Releases the dedicated connection (and every hypothetical index with it). */
  close(): Promise<void>;
}
