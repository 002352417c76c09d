import { z } from 'zod';
import { unavailable } from '../capabilities.js';
import { defineRoute } from '../route.js';
import type { ApiRoute, ServiceContext } from '../route.js';

/** Body of `POST /cache/warm-up`: queries to run and cache ahead of traffic (`?` or `$n` placeholders). */
export const warmUpBody = z.strictObject({
  queries: z.array(z.string().min(1).max(100_000)).min(1).max(1000),
});

/** Body of `POST /cache/invalidate`. */
export const invalidateBody = z.strictObject({
  patterns: z.array(z.string().min(1).max(1000)).min(1).max(1000).describe('key patterns (`user:123:*`) or table names, by scope'),
  scope: z.enum(['key_pattern', 'table', 'tag', 'all']).default('key_pattern'),
});

/** Body of `POST /cache/optimize` (optional). */
export const optimizeCacheBody = z.strictObject({}).default({});

/** `/cache/*`: statistics, warm-up, invalidation and compaction of the result cache. */
export function cacheRoutes(context: ServiceContext): ApiRoute<never, never>[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/cache/statistics',
      summary: 'Hit ratio, entries and bytes per cache tier',
      tag: 'cache',
      auth: false,
      async handler() {
        return context.qo.cache.stats();
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/cache/warm-up',
      summary: 'Runs and caches the given queries ahead of traffic',
      tag: 'cache',
      auth: true,
      body: warmUpBody,
      errors: [501],
      async handler() {
        return unavailable('cache');
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/cache/invalidate',
      summary: 'Evicts cached results by key pattern, table or tag',
      tag: 'cache',
      auth: true,
      body: invalidateBody,
      errors: [501],
      async handler() {
        return unavailable('cache');
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/cache/optimize',
      summary: 'Evicts expired entries and compacts the persistent tier',
      tag: 'cache',
      auth: true,
      body: optimizeCacheBody,
      errors: [501],
      async handler() {
        return unavailable('cache');
      },
    }),
  ];
}
