import { z } from 'zod';
import { SqlSyntaxError } from '../../errors.js';
import type { Optimizer } from '../../optimizer.js';
import { unavailable } from '../capabilities.js';
import { RequestValidationError } from '../errors.js';
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
  optimization_level: z.number().int().min(0).max(3).default(3),
  enable_caching: z.boolean().default(true),
});

/** Answer of `POST /optimization/analyze-query`: the SQL layer's facts about the statement. */
export const analyzeQueryResponse = z.object({
  fingerprint: z.string(),
  normalized: z.string(),
  kind: z.enum(['read', 'write', 'ddl', 'transaction', 'other']),
  cacheable: z.boolean(),
  uncacheable_reason: z.string().nullable(),
  tables: z.array(z.string()),
  read_tables: z.array(z.string()),
  write_tables: z.array(z.string()),
  parameter_count: z.number().int(),
  statements: z.array(
    z.object({
      command: z.string(),
      kind: z.string(),
      predicates: z.array(z.unknown()),
      joins: z.array(z.unknown()),
      order_by: z.array(z.unknown()),
      group_by: z.array(z.unknown()),
      functions: z.array(z.string()),
    }),
  ),
});

/** Answer of `GET /optimization/status`. */
export const statusResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  uptime_seconds: z.number(),
  database: z.object({ dialect: z.string(), target: z.string(), reachable: z.boolean(), latency_ms: z.number().nullable(), error: z.string().optional() }),
  capabilities: z.record(z.string(), z.boolean()),
  optimization: z.object({ enabled: z.boolean(), level: z.number(), automatic_rewriting: z.boolean() }),
  queries: z.object({ fingerprints: z.number().int(), calls: z.number().int(), errors: z.number().int() }),
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

/** `/optimization/*`: service status, static analysis of a query, rewrites, recommendations, health. */
export function optimizationRoutes({ qo, capabilities, version, startedAt }: ServiceContext): ApiRoute<never, never>[] {
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
        const stats = qo.recorder.snapshot();
        return {
          status: database.reachable ? 'ok' : 'degraded',
          version,
          uptime_seconds: (Date.now() - startedAt) / 1000,
          database,
          capabilities: { ...capabilities },
          optimization: { enabled: qo.config.optimization.enabled, level: qo.config.optimization.level, automatic_rewriting: qo.config.optimization.automaticRewriting },
          queries: {
            fingerprints: stats.length,
            calls: stats.reduce((sum, entry) => sum + entry.calls, 0),
            errors: stats.reduce((sum, entry) => sum + entry.errors, 0),
          },
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
      summary: 'Proven rewrites of a query (cheaper by EXPLAIN, equal in results)',
      tag: 'optimization',
      auth: true,
      body: optimizeQueryBody,
      errors: [501],
      async handler({ body }) {
        analyzeOrReject(qo, body.query);
        return unavailable('rewrite');
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/optimization/recommendations',
      summary: "The index advisor's recommendations for this database",
      tag: 'optimization',
      auth: false,
      errors: [501],
      async handler() {
        return unavailable('advisor');
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/optimization/health',
      summary: 'Database health: unused, duplicate and invalid indexes, unindexed foreign keys, bloat, stale statistics',
      tag: 'optimization',
      auth: false,
      errors: [501],
      async handler() {
        return unavailable('advisor');
      },
    }),
  ];
}
