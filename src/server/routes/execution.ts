import { z } from 'zod';
import { defineRoute } from '../route.js';
import type { ApiRoute, ServiceContext } from '../route.js';

const count = z.number().int().min(0);

/** Answer of `GET /execution/metrics`: `qo.executor.metrics()` (`ExecutorMetrics`). */
export const executionMetricsResponse = z.strictObject({
  active: count.describe('queries holding a scheduler slot'),
  queued: count,
  queuedByPriority: z.strictObject({ high: count, normal: count, low: count }),
  granted: count,
  rejectedQueueFull: count,
  waitMs: z.strictObject({ count, mean: z.number(), p50: z.number(), p99: z.number(), max: z.number() }).describe('time spent waiting for a slot, over every granted query'),
  completed: count.describe('queries that finished (successfully or not) after reaching a target'),
  failed: count,
  retries: count,
  retryBudgetExhausted: count,
  quotaRejections: count,
  timeouts: count,
  deduplicated: count,
  targets: z.array(
    z.strictObject({
      name: z.string(),
      role: z.enum(['primary', 'replica']),
      breaker: z.enum(['closed', 'open', 'half-open', 'isolated']),
      breakerOpened: count,
      lagBytes: z.number().nullable().describe('replication lag; null for the primary or when unknown'),
      pool: z
        .strictObject({ total: count.describe('connections open'), idle: count, waiting: count.describe('checkouts waiting for a connection'), max: count })
        .nullable()
        .describe('its connection pool; null for a target without one (PGlite)'),
    }),
  ),
});

/** `/execution/metrics`: the executor's queue, concurrency, retries, breakers and connection pools. */
export function executionRoutes(context: ServiceContext): ApiRoute<never, never>[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/execution/metrics',
      summary: 'Query execution metrics and resource use: queue, concurrency, retries, breaker state, pool',
      tag: 'execution',
      auth: false,
      response: executionMetricsResponse,
      async handler() {
        return context.qo.executor.metrics();
      },
    }),
  ];
}
