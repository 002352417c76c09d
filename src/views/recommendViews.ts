import { quoteIdentifier, quoteQualified } from '../advise/indexCandidate.js';
import { tableAccesses } from '../advise/queryShape.js';
import type { AdvisorQuery } from '../advise/workload.js';
import { analyzeSql } from '../sql/analyze.js';
import type { AstNode } from '../sql/parser.js';
import { child, list } from '../sql/references.js';
import type { MaterializedViewSpec } from './viewSpec.js';

/** Options of view recommendation. */
export interface ViewRecommendationOptions {
  /** Freshness bound of the proposed views (default one minute). */
  maxStalenessMs?: number;
  /** Primary-key column per table, used as the tie-breaker of a "latest" view. */
  primaryKeys?: ReadonlyMap<string, string[]>;
}

/** The output column names of a SELECT whose target list is plain column references, else null. */
function plainOutputColumns(select: AstNode): string[] | null {
  const names: string[] = [];
  for (const target of list(select, 'targetList')) {
    const fields = list(child(child(child(target, 'ResTarget'), 'val'), 'ColumnRef'), 'fields');
    const last = fields.at(-1);
    const name = child(last, 'String')?.sval;
    if (typeof name !== 'string') return null;
    names.push(name);
  }
  return names.length > 0 ? names : null;
}

function viewName(prefix: string, query: AdvisorQuery): string {
  return `qopt_mv_${prefix}_${query.fingerprint.slice(0, 8)}`;
}

/** A parameter-free GROUP BY query: the view stores it whole; its group keys are unique. */
function aggregateView(query: AdvisorQuery, options: ViewRecommendationOptions): MaterializedViewSpec | null {
  const analysis = analyzeSql(query.sql);
  const statement = analysis.statements[0];
  if (analysis.statements.length !== 1 || !statement || analysis.kind !== 'read' || analysis.parameterCount > 0) return null;
  if (statement.groupBy.length === 0 || statement.clockOrVolatileCalls.length > 0) return null;
  const name = viewName('agg', query);
  const keys = statement.groupBy.map((key) => key.column);
  return {
    name,
    definition: query.sql,
    uniqueKey: keys,
    tables: analysis.readTables,
    baseSql: query.sql,
    viewSql: `SELECT * FROM ${name}${statement.orderBy.length > 0 ? ` ORDER BY ${statement.orderBy.map((key) => `${quoteIdentifier(key.column)}${key.descending ? ' DESC' : ''}`).join(', ')}` : ''}`,
    maxStalenessMs: options.maxStalenessMs ?? 60_000,
    reason: 'parameter-free aggregate: precomputed groups, refreshed concurrently',
  };
}

/**
 * A "latest row per key" query — `SELECT cols FROM (SELECT t.*, row_number() OVER (PARTITION BY k
 * ORDER BY o DESC) … FROM t WHERE f = $n) ranked WHERE rn = 1` — becomes a view of the latest row
 * of every (f, k) by DISTINCT ON, with the primary key as tie-breaker, read back with `WHERE f = $n`.
 */
function latestView(query: AdvisorQuery, options: ViewRecommendationOptions): MaterializedViewSpec | null {
  const analysis = analyzeSql(query.sql);
  if (analysis.statements.length !== 1 || analysis.kind !== 'read' || !analysis.statements[0]!.functions.includes('row_number')) return null;
  const root = child(analysis.statements[0]!.ast, 'SelectStmt');
  if (!root || child(root, 'withClause')) return null;
  const output = plainOutputColumns(root);
  const accesses = tableAccesses([analysis.statements[0]!.ast]).filter((access) => access.windows.length === 1);
  if (!output || accesses.length !== 1) return null;
  const access = accesses[0]!;
  const window = access.windows[0]!;
  if (window.order.length !== 1 || access.range.length > 0) return null;
  const predicates = analysis.statements[0]!.predicates.filter((predicate) => predicate.table === access.table);
  const filters = predicates.filter((predicate) => predicate.op === '=' && predicate.value.kind === 'parameter');
  if (filters.length !== predicates.length || filters.length === 0) return null;
  const filterColumns = filters.map((predicate) => predicate.column);
  const key = [...filterColumns, ...window.partition.filter((column) => !filterColumns.includes(column))];
  const order = window.order[0]!;
  const tieBreak = options.primaryKeys?.get(access.table) ?? [];
  const name = viewName('latest', query);
  const outputs = [...new Set([...output, ...key])];
  const definition = `SELECT DISTINCT ON (${key.map(quoteIdentifier).join(', ')}) ${outputs.map(quoteIdentifier).join(', ')}
FROM ${quoteQualified(access.table)}
ORDER BY ${[...key.map(quoteIdentifier), `${quoteIdentifier(order.column)}${order.descending ? ' DESC' : ''}`, ...tieBreak.map((column) => `${quoteIdentifier(column)}${order.descending ? ' DESC' : ''}`)].join(', ')}`;
  const where = filters.map((predicate) => `${quoteIdentifier(predicate.column)} = $${(predicate.value as { index: number }).index}`).join(' AND ');
  return {
    name,
    definition,
    uniqueKey: key,
    tables: [access.table],
    baseSql: query.sql,
    viewSql: `SELECT ${output.map(quoteIdentifier).join(', ')} FROM ${name} WHERE ${where}`,
    maxStalenessMs: options.maxStalenessMs ?? 60_000,
    reason: `latest ${access.table} row per (${key.join(', ')}) by ${order.column}: precomputed, refreshed concurrently`,
  };
}

/** Materialized views for the workload's hot aggregate and "latest" queries (nothing is created). */
export function recommendViews(workload: readonly AdvisorQuery[], options: ViewRecommendationOptions = {}): MaterializedViewSpec[] {
  const specs: MaterializedViewSpec[] = [];
  for (const query of workload) {
    const spec = latestView(query, options) ?? aggregateView(query, options);
    if (spec && !specs.some((known) => known.name === spec.name)) specs.push(spec);
  }
  return specs;
}
