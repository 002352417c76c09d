import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import type { QoptConfigInput } from '../../src/config.js';
import { API_PREFIX, apiRoutes, createServiceContext, startServer } from '../../src/server/app.js';
import type { RunningServer } from '../../src/server/app.js';
import type { ApiRoute } from '../../src/server/route.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

/** The token every test service is configured with. */
export const TOKEN = 'test-token-0123456789';
/** The real Redis the tests use. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A running service on an ephemeral port, over a fresh schema of the real PostgreSQL. */
export interface TestService {
  qo: Optimizer;
  server: RunningServer;
  schema: TestSchema;
  /** Sends a request; `token: null` sends none. */
  request(method: string, path: string, options?: { body?: unknown; token?: string | null; headers?: Record<string, string> }): Promise<Response>;
  /**
   * Parses a success answer with the response schema of the route at `path` (`/api/v1/…`, query string allowed).
   * The schemas are strict objects: a field missing, mistyped or not in the schema throws.
   */
  parseAnswer(method: string, path: string, body: unknown): unknown;
  close(): Promise<void>;
}

/** Starts the real app (real PostgreSQL and Redis) on 127.0.0.1 and an ephemeral port. */
export async function startTestService(config: QoptConfigInput = {}, prefix = 'qopt_srv'): Promise<TestService> {
  const schema = await createTestSchema(prefix);
  const qo = await createOptimizer({
    ...config,
    database: { poolMax: 4, ...config.database, url: schema.url },
    redis: { keyPrefix: `${schema.name}:`, ...config.redis, url: REDIS_URL },
    server: { apiToken: TOKEN, ...config.server, host: '127.0.0.1', port: 0 },
  });
  const server = await startServer(qo);
  const routes: ApiRoute<never, never>[] = apiRoutes(await createServiceContext(qo));
  return {
    qo,
    server,
    schema,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? TOKEN : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (options.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      }
      return fetch(`${server.url}${path}`, { method, headers, body });
    },
    parseAnswer(method, path, body) {
      const routePath = path.split('?')[0]!.slice(API_PREFIX.length);
      const route = routes.find((candidate) => candidate.method === method && candidate.path === routePath);
      if (!route) throw new Error(`no route ${method} ${routePath}`);
      return route.response.parse(body);
    },
    async close() {
      await server.close();
      await qo.close();
      await schema.drop();
    },
  };
}
