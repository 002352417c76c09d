import { defineRoute } from '../route.js';
import type { ApiRoute, ServiceContext } from '../route.js';

/** `/execution/metrics`: the executor's queue, concurrency, retries, breaker and pool. */
export function executionRoutes(context: ServiceContext): ApiRoute<never, never>[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/execution/metrics',
      summary: 'Query execution metrics and resource use: queue, concurrency, retries, breaker state, pool',
      tag: 'execution',
      auth: false,
      async handler() {
        return context.qo.executor.metrics();
      },
    }),
  ];
}
