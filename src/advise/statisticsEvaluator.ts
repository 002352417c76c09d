import { analyzeSql } from '../sql/analyze.js';
import type { TableStats } from './catalog.js';
import type { IndexCandidate } from './indexCandidate.js';
import { tableAccesses } from './queryShape.js';
import type { TableAccess } from './queryShape.js';
import type { WhatIfEvaluator } from './whatIf.js';
import type { AdvisorQuery } from './workload.js';

/** PostgreSQL's default planner constants, used by the statistics-only model. */
const SEQ_PAGE_COST = 1;
const RANDOM_PAGE_COST = 4;
const CPU_TUPLE_COST = 0.01;
const CPU_OPERATOR_COST = 0.0025;
const DEFAULT_DISTINCT = 200;
const RANGE_SELECTIVITY = 1 / 3;

interface IndexShape {
  keys: Array<{ text: string; descending: boolean }>;
  include: string[];
  where: string | null;
}

function matchedSelectivity(shape: IndexShape, access: TableAccess, stats: TableStats): { selectivity: number; matched: number; ordered: boolean } {
  let selectivity = 1;
  let matched = 0;
  let position = 0;
  for (const key of shape.keys) {
    if (access.equality.includes(key.text) || access.joinColumns.includes(key.text)) {
      selectivity /= Math.max(1, stats.columns.get(key.text)?.distinct ?? DEFAULT_DISTINCT);
      matched += 1;
      position += 1;
      continue;
    }
    if (access.range.includes(key.text)) {
      selectivity *= RANGE_SELECTIVITY;
      matched += 1;
      position += 1;
    }
    break;
  }
  const rest = shape.keys.slice(position).map((key) => key.text);
  const ordered = access.sort.length > 0 && access.sort.every((key, index) => rest[index] === key.column);
  return { selectivity, matched, ordered };
}

function accessCost(access: TableAccess, stats: TableStats, shapes: IndexShape[]): number {
  const rows = Math.max(1, stats.rows);
  const predicates = access.equality.length + access.range.length + access.constantConditions.length;
  const outRows = Math.max(1, rows / Math.max(1, 3 ** access.range.length) / (access.equality.length > 0 ? DEFAULT_DISTINCT : 1));
  const sortCost = access.sort.length > 0 ? 2 * CPU_OPERATOR_COST * outRows * Math.log2(outRows + 1) : 0;
  let best = stats.pages * SEQ_PAGE_COST + rows * (CPU_TUPLE_COST + predicates * CPU_OPERATOR_COST) + sortCost;
  for (const shape of shapes) {
    if (shape.where && !access.constantConditions.includes(shape.where)) continue;
    const { selectivity, matched, ordered } = matchedSelectivity(shape, access, stats);
    if (matched === 0 && !(ordered && access.hasLimit)) continue;
    const fetched = Math.max(1, rows * selectivity);
    const covered = !access.readColumns.includes('*') && access.readColumns.every((column) => shape.keys.some((key) => key.text === column) || shape.include.includes(column));
    const heap = covered ? fetched * CPU_TUPLE_COST : Math.min(stats.pages, fetched) * RANDOM_PAGE_COST + fetched * CPU_TUPLE_COST;
    const cost = RANDOM_PAGE_COST * Math.log2(rows + 1) / 4 + fetched * CPU_OPERATOR_COST * 2 + heap + (ordered ? 0 : sortCost);
    best = Math.min(best, cost);
  }
  return best;
}

/**
 * A statistics-only what-if model for databases without HypoPG (PGlite, restricted hosts): the
 * planner's default constants over pg_class / pg_stats numbers. Rough, so labelled low confidence.
 */
export class StatisticsEvaluator implements WhatIfEvaluator {
  readonly kind = 'statistics' as const;
  readonly confidence = 'low' as const;

  constructor(private readonly tables: ReadonlyMap<string, TableStats>) {}

  async cost(query: AdvisorQuery, config: readonly IndexCandidate[]): Promise<number | null> {
    const accesses = tableAccesses(analyzeSql(query.sql).statements.map((statement) => statement.ast));
    let total = 0;
    for (const access of accesses) {
      const stats = this.tables.get(access.table);
      if (!stats) continue;
      const existing: IndexShape[] = stats.existingIndexes.map((index) => ({ keys: index.keys.map((text) => ({ text, descending: false })), include: [], where: index.where }));
      const proposed: IndexShape[] = config.filter((candidate) => candidate.table === access.table && candidate.method === 'btree').map((candidate) => ({
        keys: candidate.keys.map((key) => ({ text: key.text, descending: key.descending })),
        include: candidate.include,
        where: candidate.where,
      }));
      total += accessCost(access, stats, [...existing, ...proposed]);
    }
    return total;
  }

  planningFailure(): string | null {
    // The model costs every query it is given.
    return null;
  }

  async hypotheticalBytes(): Promise<number | null> {
    return null;
  }

  async close(): Promise<void> {}
}
