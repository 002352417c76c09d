import { z } from 'zod';
import { DuckDbStatementRefusedError, StaleCopyError } from '../../db/duckdbDriver.js';
import type { HybridRequest } from '../../db/hybrid.js';
import { runHybrid } from '../../db/hybrid.js';
import { HttpError, RequestValidationError } from '../errors.js';
import { GuardedQueryRunner } from '../queryRunner.js';
import { defineRoute } from '../route.js';
import type { ApiRoute, ServiceContext } from '../route.js';

const parameter = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const statement = z.strictObject({ sql: z.string().min(1).max(100_000), params: z.array(parameter).max(10_000).default([]) });

/** Body of `POST /query/hybrid`: the seed's `execute_hybrid_query`. */
export const hybridBody = z.strictObject({
  postgresql: statement.describe('a SELECT on PostgreSQL, run under the operator role and timeout like POST /query'),
  duckdb: statement.describe('exactly one SELECT on the DuckDB analytics copy (read-only, no file or network access), under the statement timeout of POST /query'),
  combine: z
    .union([z.enum(['none', 'concat']), z.strictObject({ join_on: z.string().min(1) })])
    .default('none')
    .describe('none: no combined rows; concat: PostgreSQL rows then DuckDB rows; join_on: rows of both sides with equal values in that column, merged'),
  allow_stale: z.boolean().default(false).describe('run even when the DuckDB copy is older than PostgreSQL'),
  cache: z.boolean().default(true).describe('serve and store the result through the result cache (kept apart per operator role; invalidated by writes through qopt to either side\'s tables, missed after a re-sync)'),
});

/** Answer of `POST /query/hybrid`. */
export const hybridResponse = z.strictObject({
  postgresql: z.strictObject({ rows: z.array(z.record(z.string(), z.unknown())), row_count: z.number().int() }),
  duckdb: z.strictObject({
    rows: z.array(z.record(z.string(), z.unknown())),
    row_count: z.number().int(),
    freshness: z.array(
      z.strictObject({
        table: z.string(),
        fresh: z.boolean(),
        syncedStamp: z.string(),
        currentStamp: z.string().nullable(),
        syncedGeneration: z.string().nullable(),
        currentGeneration: z.string().nullable(),
      }),
    ),
  }),
  combined: z.array(z.record(z.string(), z.unknown())).nullable(),
  execution_time_ms: z.strictObject({ postgresql: z.number(), duckdb: z.number(), total: z.number() }),
  cache: z.enum(['hit', 'miss', 'bypass']).describe('hit: both sides from the result cache (they did not run); miss: run and stored; bypass: run, not cached'),
});

type Rows = Array<Record<string, unknown>>;

/** The combination a request names, as the function `qo.hybrid` takes. */
export function combinerOf(combine: z.infer<typeof hybridBody>['combine']): HybridRequest['combine'] {
  if (combine === 'none') return undefined;
  if (combine === 'concat') return (postgresql, duckdb) => [...postgresql, ...duckdb];
  const column = combine.join_on;
  return (postgresql: Rows, duckdb: Rows) => {
    const byKey = new Map<string, Rows>();
    for (const row of duckdb) {
      const key = String(row[column]);
      byKey.set(key, [...(byKey.get(key) ?? []), row]);
    }
    return postgresql.flatMap((left) => (byKey.get(String(left[column])) ?? []).map((right) => ({ ...right, ...left })));
  };
}

class StaleCopyHttpError extends HttpError {
  readonly status = 409;

  constructor(readonly stale: StaleCopyError) {
    // The message names the HTTP field, not qo.hybrid's option.
    super(stale.code, new StaleCopyError(stale.tables, '"allow_stale": true').message);
  }

  override body(): Record<string, unknown> {
    return { error: this.code, message: this.message, tables: this.stale.tables };
  }
}

/** `POST /query/hybrid`: a PostgreSQL side and a DuckDB side, run concurrently and combined. */
export function hybridRoutes({ qo, config }: ServiceContext): ApiRoute<never, never>[] {
  const runner = new GuardedQueryRunner(qo, {
    role: config.server.queryRole,
    statementTimeoutMs: config.server.queryStatementTimeoutMs,
    maxRows: config.server.queryMaxRows,
  });
  // Entries kept apart per operator role, as POST /query keeps its own.
  const caching = { cache: qo.cache, analyze: (sql: string) => qo.analyze(sql), scope: `role:${config.server.queryRole ?? ''}` };
  return [
    defineRoute({
      method: 'POST',
      path: '/query/hybrid',
      summary: 'Hybrid query: PostgreSQL and the DuckDB analytics copy concurrently, combined; refuses a stale copy (409)',
      tag: 'query',
      auth: true,
      body: hybridBody,
      response: hybridResponse,
      errors: [408, 409, 413],
      async handler({ body }) {
        if (runner.check(body.postgresql.sql).kind !== 'read') throw new RequestValidationError('postgresql.sql', 'the PostgreSQL side of a hybrid query must be a read');
        // The PostgreSQL side runs like POST /query: operator role, statement timeout, monitored.
        const postgresql = { query: (sql: string, params: readonly unknown[] = []) => runner.run(sql, params, { cache: body.cache }) };
        try {
          const request = {
            postgresql: { sql: body.postgresql.sql, params: body.postgresql.params },
            duckdb: { sql: body.duckdb.sql, params: body.duckdb.params },
            combine: combinerOf(body.combine),
            combineKey: JSON.stringify(body.combine),
            allowStale: body.allow_stale,
            timeoutMs: config.server.queryStatementTimeoutMs,
            cache: body.cache,
          };
          const result = await qo.withDuckDb((duck) => runHybrid(postgresql, qo.driver, duck, request, caching));
          return {
            postgresql: { rows: result.postgresql.rows, row_count: result.postgresql.rowCount },
            duckdb: { rows: result.duckdb.rows, row_count: result.duckdb.rowCount, freshness: result.duckdb.freshness },
            combined: result.combined,
            execution_time_ms: result.executionTimeMs,
            cache: result.cache,
          } satisfies z.infer<typeof hybridResponse>;
        } catch (error) {
          if (error instanceof StaleCopyError) throw new StaleCopyHttpError(error);
          if (error instanceof DuckDbStatementRefusedError) throw new RequestValidationError('duckdb.sql', error.reason);
          throw error;
        }
      },
    }),
  ];
}
