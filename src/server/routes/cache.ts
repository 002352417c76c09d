import { z } from 'zod';
import { unavailable } from '../capabilities.js';
import { queryPolicyOf } from '../policyDriver.js';
import { GuardedQueryRunner } from '../queryRunner.js';
import type { Optimizer } from '../../optimizer.js';
import { defineRoute } from '../route.js';
import type { ApiRoute, ServiceContext } from '../route.js';

const warmUpQuery = z.union([
  z.string().min(1).max(100_000).describe('a statement without parameters'),
  z.strictObject({ sql: z.string().min(1).max(100_000), params: z.array(z.unknown()).max(1000).default([]) }),
]);

/**
 * Body of `POST /cache/warm-up`: reads to run and cache ahead of traffic (a text, or `{ sql, params }`
 * for `$n` placeholders), and/or `hottest` to re-run the monitor's hottest cached reads.
 */
export const warmUpBody = z
  .strictObject({
    queries: z.array(warmUpQuery).max(1000).default([]),
    hottest: z
      .strictObject({
        top: z.number().int().min(1).max(500).default(20).describe('query shapes, by total time in the monitor'),
        per_query: z.number().int().min(1).max(8).default(4).describe('recent parameter sets per shape'),
      })
      .optional(),
  })
  .refine((body) => body.queries.length > 0 || body.hottest !== undefined, { path: ['queries'], message: 'give at least one query, or hottest' });

/** Body of `POST /cache/invalidate`. */
export const invalidateBody = z.strictObject({
  patterns: z.array(z.string().min(1).max(1000)).min(1).max(1000).describe('key patterns (`user:123:*`) or table names, by scope'),
  scope: z.enum(['key_pattern', 'table', 'tag', 'all']).default('key_pattern'),
});

/** Body of `POST /cache/optimize` (optional, no fields). */
export const optimizeCacheBody = z.strictObject({}).default({});

const count = z.number().int().min(0);

const tierStats = z.strictObject({ hits: count, misses: count, stores: count, evictions: count, errors: count, bytes: count, entries: count });

/** `qo.cache.stats()` (`CacheStats`): the answer of `GET /cache/statistics`. */
export const cacheStatsSchema = z.strictObject({
  enabled: z.boolean(),
  l1: tierStats,
  l2: z.strictObject({ ...tierStats.shape, available: z.boolean() }).nullable().describe('null: no Redis tier configured'),
  l3: tierStats.nullable().describe('null: no file tier configured'),
  misses: count.describe('reads that ran on the database although cacheable (all tiers missed)'),
  bypassed: count.describe('reads the cache was told to skip or could not cache'),
  coalesced: count.describe('misses that joined a load already running for the same key'),
  staleServed: count.describe('expired entries served while one refresh ran'),
  storesRefused: count.describe('stores refused because a write committed while the read ran'),
  invalidations: count,
  savedMs: z.number().describe('database time the hits did not spend'),
  hitRatio: z.number().min(0).max(1).describe('hits of all tiers over all cacheable reads'),
  bus: z.strictObject({ published: count, received: count, ackTimeouts: count, errors: count }).nullable(),
  capture: z.strictObject({ listening: z.boolean(), notifications: count, reconnects: count, errors: count }).nullable(),
  pendingBumps: count.describe('invalidations that could not reach Redis and wait to be replayed'),
  warnings: z.array(z.string()),
});

const warmUpOutcome = z.strictObject({
  query: z.string(),
  status: z.enum(['cached', 'not_cacheable', 'failed']),
  reason: z.string().optional().describe('why it was not cached'),
});
type WarmUpOutcome = z.infer<typeof warmUpOutcome>;

/** Answer of `POST /cache/warm-up`. */
export const warmUpResponse = z.strictObject({
  warmed: count.describe('given queries now cached'),
  results: z.array(warmUpOutcome).describe('one per given query, in order'),
  hottest: z
    .strictObject({
      shapes: count.describe("hot read shapes considered (by the monitor's total time)"),
      queries: count.describe('instances considered'),
      warmed: count.describe('instances that ran against the database and were stored'),
      alreadyCached: count.describe('instances that were still cached (nothing ran)'),
      failed: count,
      skipped: count.describe("instances loaded under another role or statement timeout than the application's own (POST /query's), never re-run here"),
      skippedReasons: z.array(z.string()).describe('why instances were skipped, each reason once'),
      durationMs: z.number(),
    })
    .nullable()
    .describe('null: hottest was not asked'),
});

/** Answer of `POST /cache/invalidate`. */
export const invalidateResponse = z.strictObject({
  scope: invalidateBody.shape.scope.unwrap(),
  patterns: z.array(z.string()),
  entries_removed: count.nullable().describe('counted for key_pattern; null for the scopes invalidated by generation'),
});

/** Answer of `POST /cache/optimize` (`CacheOptimizeReport` and the statistics after it). */
export const optimizeCacheResponse = z.strictObject({
  l1: z.strictObject({ entriesBefore: count, entriesAfter: count, bytesBefore: count, bytesAfter: count, dropped: count }).describe('the memory tier before and after compaction'),
  advice: z.array(z.string()).describe('findings from the counters, each with the setting to change'),
  statistics: cacheStatsSchema,
});

/**
 * Runs one warm-up read as `/query` runs it — under the operator's role and statement timeout, cached under that
 * role's keys — so warming never stores a result `/query` could not read; anything but a cacheable read is
 * reported, not run.
 */
async function warmOne(qo: Optimizer, runner: GuardedQueryRunner, entry: z.infer<typeof warmUpQuery>): Promise<WarmUpOutcome> {
  const { sql, params } = typeof entry === 'string' ? { sql: entry, params: [] as unknown[] } : entry;
  let analysis;
  try {
    analysis = qo.analyze(sql);
  } catch (error) {
    return { query: sql, status: 'failed', reason: (error as Error).message.split('\n')[0] };
  }
  if (!analysis.cacheable) return { query: sql, status: 'not_cacheable', reason: analysis.uncacheableReason ?? `a ${analysis.kind} statement` };
  if (params.length < analysis.parameterCount) return { query: sql, status: 'failed', reason: `needs ${analysis.parameterCount} parameter(s): send { sql, params }` };
  try {
    await runner.run(sql, params, { priority: 'low' });
    return { query: sql, status: 'cached' };
  } catch (error) {
    return { query: sql, status: 'failed', reason: (error as Error).message };
  }
}

/** `/cache/*`: statistics, warm-up, invalidation and compaction of the result cache. */
export function cacheRoutes(context: ServiceContext): ApiRoute<never, never>[] {
  const { qo, capabilities } = context;
  const runner = new GuardedQueryRunner(qo, queryPolicyOf(context.config.server));
  return [
    defineRoute({
      method: 'GET',
      path: '/cache/statistics',
      summary: 'Hit ratio, entries and bytes per cache tier',
      tag: 'cache',
      auth: false,
      response: cacheStatsSchema,
      async handler() {
        return context.qo.cache.stats();
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/cache/warm-up',
      summary:
        "Runs and caches reads ahead of traffic: given ones as POST /query runs them (the operator's role and statement timeout; cached for /query, under that role's keys), and/or the monitor's hottest that are no longer cached (for the application, under its own role)",
      tag: 'cache',
      auth: true,
      body: warmUpBody,
      response: warmUpResponse,
      errors: [501],
      async handler({ body }) {
        if (!capabilities.cache) return unavailable('cache');
        const results: WarmUpOutcome[] = [];
        for (const entry of body.queries) results.push(await warmOne(qo, runner, entry));
        const hottest = body.hottest ? await qo.warmUpHottest({ top: body.hottest.top, perQuery: body.hottest.per_query }) : null;
        return { warmed: results.filter((result) => result.status === 'cached').length, results, hottest };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/cache/invalidate',
      summary: 'Evicts cached results, in every tier and instance: by key pattern (a glob over the cache key: database, SQL, parameters), table, tag, or all',
      tag: 'cache',
      auth: true,
      body: invalidateBody,
      response: invalidateResponse,
      errors: [501],
      async handler({ body }) {
        if (!capabilities.cache) return unavailable('cache');
        switch (body.scope) {
          case 'key_pattern': {
            let removed = 0;
            for (const pattern of body.patterns) removed += await qo.cache.invalidatePattern(pattern);
            return { scope: body.scope, patterns: body.patterns, entries_removed: removed };
          }
          case 'table':
            await qo.cache.invalidateTables(body.patterns);
            return { scope: body.scope, patterns: body.patterns, entries_removed: null };
          case 'tag':
            for (const tag of body.patterns) await qo.cache.invalidateTag(tag);
            return { scope: body.scope, patterns: body.patterns, entries_removed: null };
          case 'all':
            await qo.cache.invalidateAll();
            return { scope: body.scope, patterns: body.patterns, entries_removed: null };
        }
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/cache/optimize',
      summary: 'Compacts the memory tier (drops invalidated and expired entries) and advises on cache settings from the counters',
      tag: 'cache',
      auth: true,
      body: optimizeCacheBody,
      response: optimizeCacheResponse,
      errors: [501],
      async handler() {
        if (!capabilities.cache) return unavailable('cache');
        return { ...qo.cache.optimize(), statistics: qo.cache.stats() };
      },
    }),
  ];
}
