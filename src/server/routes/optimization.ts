import { z } from 'zod';
import { SqlSyntaxError } from '../../errors.js';
import type { Driver } from '../../db/driver.js';
import { PgDriver } from '../../db/pgDriver.js';
import type { Optimizer } from '../../optimizer.js';
import { migrationSql } from '../../advise/migration.js';
import type { OptimizationLevel } from '../../analyze/queryAnalyzer.js';
import type { PredicateValue } from '../../sql/references.js';
import { RequestValidationError } from '../errors.js';
import { PolicyDriver, queryPolicyOf } from '../policyDriver.js';
import { defineRoute } from '../route.js';
import type { ApiRoute, ServiceContext } from '../route.js';

const MAX_SQL_LENGTH = 100_000;

/** The seed's database types; DuckDB SQL is analyzed with the PostgreSQL parser (its dialect follows PostgreSQL's). */
const databaseType = z.enum(['postgresql', 'duckdb']).default('postgresql');

/** Body of `POST /optimization/analyze-query`. */
export const analyzeQueryBody = z.strictObject({
  query: z.string().min(1).max(MAX_SQL_LENGTH).describe('the SQL text'),
  database_type: databaseType,
});

/** Body of `POST /optimization/optimize-query`. */
export const optimizeQueryBody = z.strictObject({
  query: z.string().min(1).max(MAX_SQL_LENGTH),
  database_type: databaseType,
  optimization_level: z.number().int().min(0).max(3).default(3).describe('0 none, 1 static findings, 2 + plan findings, 3 + proven rewrites'),
  enable_caching: z.boolean().default(true).describe('report whether the query (or its rewrite) is cacheable'),
  params: z.array(z.unknown()).max(1000).default([]).describe('values of $1, $2, … for the plan and the proof'),
  analyze: z.boolean().default(false).describe('EXPLAIN ANALYZE (the statement runs, inside a rolled-back transaction, under the /query role and statement timeout)'),
});

/** Query string of `GET /optimization/recommendations` and `GET /optimization/health`. */
export const freshQuery = z.strictObject({
  fresh: z.enum(['true', 'false']).transform((value) => value === 'true').default(false).describe('compute now instead of serving the latest answer (at most a minute old); needs the bearer token'),
});

/** The value side of a simple predicate (`PredicateValue`): a constant, a `$n`, a list of them, or none. */
const predicateValue: z.ZodType<PredicateValue> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('constant'), value: z.union([z.string(), z.number(), z.boolean(), z.null()]) }),
    z.strictObject({ kind: z.literal('parameter'), index: z.number().int().min(1) }),
    z.strictObject({ kind: z.literal('list'), items: z.array(predicateValue) }),
    z.strictObject({ kind: z.literal('none') }),
  ]),
);
const columnKey = z.strictObject({ table: z.string(), column: z.string() });
const statementKind = z.enum(['read', 'write', 'ddl', 'transaction', 'other']);

/** Answer of `POST /optimization/analyze-query`: the SQL layer's facts about the statement. */
export const analyzeQueryResponse = z.strictObject({
  fingerprint: z.string(),
  normalized: z.string(),
  kind: statementKind,
  cacheable: z.boolean(),
  uncacheable_reason: z.string().nullable(),
  tables: z.array(z.string()),
  read_tables: z.array(z.string()),
  write_tables: z.array(z.string()),
  parameter_count: z.number().int(),
  statements: z.array(
    z.strictObject({
      command: z.string().describe('the parse-tree node type, e.g. SelectStmt'),
      kind: statementKind,
      predicates: z.array(z.strictObject({ ...columnKey.shape, op: z.string(), value: predicateValue })).describe('`column op value` from a top-level AND of a WHERE or JOIN … ON'),
      joins: z.array(z.strictObject({ left: columnKey, right: columnKey })).describe('equalities between columns of two relations'),
      order_by: z.array(z.strictObject({ ...columnKey.shape, descending: z.boolean(), nullsFirst: z.boolean().nullable() })),
      group_by: z.array(columnKey),
      functions: z.array(z.string()),
    }),
  ),
});

/** Answer of `GET /optimization/status`. */
export const statusResponse = z.strictObject({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  uptime_seconds: z.number(),
  database: z.strictObject({ dialect: z.string(), target: z.string(), reachable: z.boolean(), latency_ms: z.number().nullable(), error: z.string().optional() }),
  capabilities: z.record(z.string(), z.boolean()),
  optimization: z.strictObject({ enabled: z.boolean(), level: z.number(), automatic_rewriting: z.boolean() }),
  queries: z.strictObject({ fingerprints: z.number().int(), calls: z.number().int(), errors: z.number().int() }),
});

const count = z.number().int().min(0);

/** The planner's estimate of a statement (`CostEstimate`). */
const costEstimateSchema = z.strictObject({
  totalCost: z.number(),
  startupCost: z.number(),
  estimatedRows: z.number(),
  actualRows: z.number().nullable().describe('EXPLAIN ANALYZE only'),
  planningTimeMs: z.number().nullable(),
  executionTimeMs: z.number().nullable(),
});

/** An index qopt may propose (`IndexCandidate`), never created until applied. */
const indexCandidateSchema = z.strictObject({
  table: z.string(),
  method: z.enum(['btree', 'gin']),
  keys: z.array(z.strictObject({ text: z.string(), expression: z.boolean(), descending: z.boolean(), opclass: z.string().nullable() })),
  include: z.array(z.string()),
  where: z.string().nullable().describe('partial-index predicate'),
  origin: z.string(),
});

/** A rewrite with its proof or the reasons it is not proven (`VerifiedRewrite`). */
const verifiedRewriteSchema = z.strictObject({
  rules: z.array(z.string()),
  sql: z.string(),
  params: z.array(z.unknown()).describe('the values of its $n placeholders (the client\'s, reordered)'),
  referenceSql: z.string(),
  notes: z.array(z.string()),
  supportingIndexes: z.array(indexCandidateSchema).optional().describe('indexes the rewrite needs; absent when none is needed'),
  verdict: z.strictObject({
    proven: z.boolean(),
    reasons: z.array(z.string()).describe('why it is not proven (empty when proven)'),
    before: costEstimateSchema,
    after: costEstimateSchema,
    costRatio: z.number(),
    improvementPercent: z.number(),
    live: z.strictObject({ equal: z.boolean(), rows: count, reason: z.string().optional() }),
    edge: z.strictObject({ equal: z.boolean(), rows: count, tables: z.record(z.string(), count), reason: z.string().optional() }),
    supportingIndexes: z
      .strictObject({
        statements: z.array(z.string()),
        before: costEstimateSchema.nullable(),
        after: costEstimateSchema.nullable(),
        costRatio: z.number().nullable(),
        costRatioToToday: z.number().nullable(),
        provenWithIndexes: z.boolean(),
        reason: z.string().optional(),
      })
      .nullable()
      .describe('the verdict with the proposed indexes (HypoPG); null when it proposes none'),
  }),
});

const ruleAndSql = z.strictObject({ rule: z.string(), sql: z.string(), notes: z.array(z.string()) });

/** Answer of `POST /optimization/optimize-query`: the `QueryReport`, the query to run and its cacheability. */
export const optimizeQueryResponse = z.strictObject({
  sql: z.string(),
  fingerprint: z.string(),
  level: z.number().int().min(0).max(3),
  findings: z.array(
    z.strictObject({
      rule: z.string(),
      severity: z.enum(['high', 'medium', 'low', 'info']),
      description: z.string(),
      detail: z.string(),
      explanation: z.string(),
      fix: z.string(),
      statement: count.describe('index of the statement in a multi-statement text'),
    }),
  ),
  plan: z
    .strictObject({
      cost: costEstimateSchema,
      findings: z.array(z.strictObject({ id: z.string(), node: z.string(), detail: z.string(), fix: z.string() })),
      analyzed: z.boolean(),
    })
    .nullable()
    .describe('null below level 2, or for a statement that is not a read'),
  rewrites: z
    .strictObject({
      verified: z.array(verifiedRewriteSchema),
      refusals: z.array(z.strictObject({ rule: z.string(), reason: z.string() })),
      suggestions: z.array(ruleAndSql),
      best: verifiedRewriteSchema.nullable().describe('the cheapest proven rewrite'),
      bestWithIndexes: verifiedRewriteSchema.nullable().describe('the cheapest rewrite proven once its proposed indexes exist, when cheaper than best'),
    })
    .nullable()
    .describe('null below level 3'),
  truncated: z.string().nullable().describe('the stage the time budget cut off'),
  elapsedMs: z.number(),
  optimized_query: z.string().describe('the best proven rewrite, or the query itself'),
  optimized_params: z.array(z.unknown()),
  caching: z
    .strictObject({ cacheable: z.boolean(), reason: z.string().nullable(), depends_on: z.array(z.string()) })
    .nullable()
    .describe('null: enable_caching was false'),
});

/** Answer of `GET /optimization/recommendations`: the index advisor's latest report (`AdviceReport`). */
export const recommendationsResponse = z.strictObject({
  generated_at: z.iso.datetime(),
  evaluator: z.enum(['hypopg', 'statistics']),
  confidence: z.enum(['high', 'low']),
  weight_unit: z.enum(['ms', 'cost']).describe('ms when the workload has timings, cost when weighted by planner cost'),
  candidates_considered: count,
  predicted_gain: z.number().describe('1 − predicted / current weight of the whole workload'),
  recommendations: z.array(
    z.strictObject({
      name: z.string(),
      table: z.string(),
      definition: z.string().describe('CREATE INDEX CONCURRENTLY …'),
      estimated_bytes: z.number().min(0),
      benefit: z.number().describe('predicted saving in weight units'),
      write_cost: z.number(),
      queries: z.array(z.string()).describe('fingerprints of the queries it speeds up'),
    }),
  ),
  statistics: z.array(
    z.strictObject({
      name: z.string(),
      table: z.string(),
      definition: z.string().describe('CREATE STATISTICS …'),
      dependencies: z.record(z.string(), z.number()).describe('functional-dependency degrees (0–1), by `a => b`'),
      queries: z.array(z.strictObject({ fingerprint: z.string(), estimatedRowsBefore: z.number(), estimatedRowsAfter: z.number() })),
    }),
  ),
  rejected: z.array(z.strictObject({ definition: z.string(), reason: z.string() })),
  skipped: z
    .array(z.strictObject({ fingerprint: z.string(), sql: z.string(), reason: z.string() }))
    .describe("workload statements PostgreSQL could not plan, left out of the evaluation, with PostgreSQL's reason"),
  migration_sql: z.string().nullable().describe('null: nothing to apply'),
});

const healthSeverity = z.enum(['info', 'warning', 'critical']);

/** Answer of `GET /optimization/health`: the latest `HealthReport` and its status. */
export const healthResponse = z.strictObject({
  generated_at: z.iso.datetime(),
  status: z.enum(['healthy', 'degraded', 'critical']),
  schemas: z.array(z.string()),
  findings: z.array(
    z.strictObject({
      check: z.string(),
      severity: healthSeverity,
      object: z.string().describe('an index, a table, a session, the database'),
      message: z.string(),
      threshold: z.string(),
      remediation: z.string().nullable().describe('SQL or a setting that fixes it; null when only a person can decide'),
    }),
  ),
  skipped: z.array(z.strictObject({ check: z.string(), reason: z.string() })).describe('checks that could not run on this database'),
  worst: healthSeverity.nullable(),
});

async function databaseStatus(qo: Optimizer): Promise<z.infer<typeof statusResponse>['database']> {
  const started = performance.now();
  try {
    await qo.driver.query('SELECT 1');
    return { dialect: qo.driver.dialect, target: qo.driver.target, reachable: true, latency_ms: performance.now() - started };
  } catch (error) {
    return { dialect: qo.driver.dialect, target: qo.driver.target, reachable: false, latency_ms: null, error: error instanceof Error ? error.message : String(error) };
  }
}

function analyzeOrReject(qo: Optimizer, query: string) {
  try {
    return qo.analyze(query);
  } catch (error) {
    if (error instanceof SqlSyntaxError) throw new RequestValidationError('query', error.message.split('\n')[0]!);
    throw error;
  }
}

/**
 * Where optimize-query runs a client's statement (its plan, EXPLAIN ANALYZE, the proofs' comparisons): under
 * the same role and statement timeout as `/query`, so it reads no more than `/query` may. PGlite has no pool of
 * sessions to protect and runs on the optimizer's driver.
 */
function clientSqlDriver(qo: Optimizer): Driver {
  return qo.driver instanceof PgDriver ? new PolicyDriver(qo.driver, queryPolicyOf(qo.config.server)) : qo.driver;
}

/** `/optimization/*`: service status, static analysis of a query, rewrites, recommendations, health. */
export function optimizationRoutes({ qo, capabilities, version, startedAt, insights }: ServiceContext): ApiRoute<never, never>[] {
  const clientSql = clientSqlDriver(qo);
  return [
    defineRoute({
      method: 'GET',
      path: '/optimization/status',
      summary: 'Service status: database reachability, capabilities of this build, query totals',
      tag: 'optimization',
      auth: false,
      response: statusResponse,
      async handler() {
        const database = await databaseStatus(qo);
        const totals = qo.recorder.cumulativeTotals();
        return {
          status: database.reachable ? 'ok' : 'degraded',
          version,
          uptime_seconds: (Date.now() - startedAt) / 1000,
          database,
          capabilities: { ...capabilities },
          optimization: { enabled: qo.config.optimization.enabled, level: qo.config.optimization.level, automatic_rewriting: qo.config.optimization.automaticRewriting },
          queries: { fingerprints: totals.fingerprints, calls: totals.calls, errors: totals.errors },
        } satisfies z.infer<typeof statusResponse>;
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/optimization/analyze-query',
      summary: 'What qopt knows about a query without running it: fingerprint, kind, tables, predicates, cacheability',
      tag: 'optimization',
      auth: true,
      body: analyzeQueryBody,
      response: analyzeQueryResponse,
      async handler({ body }) {
        const analysis = analyzeOrReject(qo, body.query);
        return {
          fingerprint: analysis.fingerprint,
          normalized: analysis.normalized,
          kind: analysis.kind,
          cacheable: analysis.cacheable,
          uncacheable_reason: analysis.uncacheableReason,
          tables: analysis.tables.map((table) => table.key),
          read_tables: analysis.readTables,
          write_tables: analysis.writeTables,
          parameter_count: analysis.parameterCount,
          statements: analysis.statements.map((statement) => ({
            command: statement.command,
            kind: statement.kind,
            predicates: statement.predicates,
            joins: statement.joins,
            order_by: statement.orderBy,
            group_by: statement.groupBy,
            functions: statement.functions,
          })),
        } satisfies z.infer<typeof analyzeQueryResponse>;
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/optimization/optimize-query',
      summary:
        'Findings, plan and proven rewrites of a query (cheaper by EXPLAIN, equal in results on live and edge-case data); every statement runs under the /query role and statement timeout',
      tag: 'optimization',
      auth: true,
      body: optimizeQueryBody,
      response: optimizeQueryResponse,
      async handler({ body }) {
        if (body.database_type === 'duckdb') {
          throw new RequestValidationError('database_type', 'optimize-query plans and proves rewrites on PostgreSQL; analyze a DuckDB query with /optimization/analyze-query');
        }
        const analysis = analyzeOrReject(qo, body.query);
        if (body.params.length < analysis.parameterCount) {
          throw new RequestValidationError('params', `the query has ${analysis.parameterCount} parameter(s): give their values in params`);
        }
        const report = await qo.optimizeQuery(body.query, body.params, { level: body.optimization_level as OptimizationLevel, analyze: body.analyze, driver: clientSql });
        insights.noteOptimization(report);
        const best = report.rewrites?.best ?? null;
        const optimized = best ? qo.analyze(best.sql) : analysis;
        return {
          ...report,
          optimized_query: best?.sql ?? body.query,
          optimized_params: best?.params ?? body.params,
          caching: body.enable_caching ? { cacheable: optimized.cacheable, reason: optimized.uncacheableReason, depends_on: optimized.readTables } : null,
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/optimization/recommendations',
      summary: "The index advisor's recommendations for the workload this service has run (what-if plans with HypoPG when installed)",
      tag: 'optimization',
      auth: false,
      // The shared snapshot is open; computing it now runs SQL (an advisor run, health checks).
      authWhen: (query) => query.fresh,
      errors: [401],
      querystring: freshQuery,
      response: recommendationsResponse,
      async handler({ query }) {
        const { at, value: report } = await insights.recommendations.get(query.fresh);
        return {
          generated_at: new Date(at).toISOString(),
          evaluator: report.evaluator,
          confidence: report.confidence,
          weight_unit: report.weightUnit,
          candidates_considered: report.candidatesConsidered,
          predicted_gain: report.predictedGain,
          recommendations: report.recommendations.map((recommendation) => ({
            name: recommendation.name,
            table: recommendation.table,
            definition: recommendation.definition,
            estimated_bytes: recommendation.estimatedBytes,
            benefit: recommendation.benefit,
            write_cost: recommendation.writeCost,
            queries: recommendation.queries,
          })),
          statistics: report.statistics.map((statistics) => ({
            name: statistics.name,
            table: statistics.table,
            definition: statistics.definition,
            dependencies: statistics.dependencies,
            queries: statistics.queries,
          })),
          rejected: report.rejected,
          skipped: report.skipped,
          migration_sql: report.recommendations.length + report.statistics.length > 0 ? migrationSql(report) : null,
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/optimization/health',
      summary: 'Database health: unused, duplicate and invalid indexes, unindexed foreign keys, bloat, stale statistics, long sessions',
      tag: 'optimization',
      auth: false,
      // The shared snapshot is open; computing it now runs SQL (an advisor run, health checks).
      authWhen: (query) => query.fresh,
      errors: [401],
      querystring: freshQuery,
      response: healthResponse,
      async handler({ query }) {
        const { at, value: report } = await insights.health.get(query.fresh);
        const status: z.infer<typeof healthResponse>['status'] = report.worst === 'critical' ? 'critical' : report.worst === 'warning' ? 'degraded' : 'healthy';
        return { generated_at: new Date(at).toISOString(), status, ...report };
      },
    }),
  ];
}
