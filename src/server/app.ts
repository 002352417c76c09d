import compress from '@fastify/compress';
import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConnectionError, QoptError, QueryError } from '../errors.js';
import type { Optimizer } from '../optimizer.js';
import { TokenCheck } from './auth.js';
import { capabilitiesOf } from './capabilities.js';
import { ServiceInsights } from './insights.js';
import { loadDashboardAssets } from './dashboardAssets.js';
import { HttpError } from './errors.js';
import { ServerMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { parseInput } from './route.js';
import type { ApiRoute, ServiceContext } from './route.js';
import { cacheRoutes } from './routes/cache.js';
import { executionRoutes } from './routes/execution.js';
import { hybridRoutes } from './routes/hybrid.js';
import { optimizationRoutes } from './routes/optimization.js';
import { performanceRoutes } from './routes/performance.js';
import { queryRoutes } from './routes/query.js';

/** Every API path starts with this. */
export const API_PREFIX = '/api/v1';
const VERSION = '0.1.0';
// Responses smaller than this are sent as they are: compressing them costs more than it saves.
const COMPRESS_THRESHOLD_BYTES = 1024;

/** Options of `buildServer`; everything else comes from `qo.config.server`. */
export interface ServerOptions {
  /** Fastify's request log (off by default: the service logs errors only). */
  logger?: boolean;
}

/** What the route areas are built from, for one optimizer. */
export async function createServiceContext(qo: Optimizer): Promise<ServiceContext> {
  return { qo, config: qo.config, capabilities: capabilitiesOf(qo), version: VERSION, startedAt: Date.now(), insights: new ServiceInsights(qo) };
}

/** The route areas, in the order the OpenAPI document lists them. */
export function apiRoutes(context: ServiceContext): ApiRoute<never, never>[] {
  return [
    ...optimizationRoutes(context),
    ...cacheRoutes(context),
    ...performanceRoutes(context),
    ...executionRoutes(context),
    ...queryRoutes(context),
    ...hybridRoutes(context),
  ];
}

function statusOfQueryError(error: QueryError): number {
  if (error.sqlState === '57014') return 408;
  if (error.sqlState === '42501') return 403;
  return 422;
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof HttpError) return reply.status(error.status).send(error.body());
  if (error instanceof QueryError) return reply.status(statusOfQueryError(error)).send({ error: error.code, message: error.message, sql_state: error.sqlState ?? null });
  if (error instanceof ConnectionError) return reply.status(503).send({ error: error.code, message: error.message });
  if (error instanceof QoptError) return reply.status(400).send({ error: error.code, message: error.message });
  const fastifyError = error as FastifyError;
  if (fastifyError.statusCode && fastifyError.statusCode < 500) {
    return reply.status(fastifyError.statusCode).send({ error: fastifyError.code ?? 'BAD_REQUEST', message: fastifyError.message });
  }
  request.log.error(error);
  return reply.status(500).send({ error: 'INTERNAL', message: 'internal error; see the server log' });
}

function registerApiRoute(app: FastifyInstance, route: ApiRoute<never, never>, tokens: TokenCheck): void {
  app.route({
    method: route.method,
    url: `${API_PREFIX}${route.path}`,
    handler: async (request, reply) => {
      if (route.auth) tokens.assert(request);
      const body = route.body ? parseInput(route.body, request.body, 'body') : undefined;
      const query = route.querystring ? parseInput(route.querystring, request.query, 'query') : undefined;
      if (!route.auth && route.authWhen?.(query as never)) tokens.assert(request);
      return route.handler({ body: body as never, query: query as never, request, reply });
    },
  });
}

/**
 * The HTTP service of an optimizer: the `/api/v1` endpoints, `/metrics`, the OpenAPI document and the
 * dashboard. Not listening yet: call `listen` (or use `startServer`).
 */
export async function buildServer(qo: Optimizer, options: ServerOptions = {}): Promise<FastifyInstance> {
  const settings = qo.config.server;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: settings.bodyLimitBytes });
  const context = await createServiceContext(qo);
  const metrics = new ServerMetrics(qo);

  const tokens = new TokenCheck(settings.apiToken);

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ error: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }));
  await app.register(compress, { threshold: COMPRESS_THRESHOLD_BYTES });
  if (settings.rateLimitPerMinute > 0) {
    await app.register(rateLimit, { max: settings.rateLimitPerMinute, timeWindow: 60_000, keyGenerator: (request) => tokens.rateLimitKey(request) });
  }
  app.addHook('onResponse', async (request, reply) => metrics.observe(request, reply));

  const routes = apiRoutes(context);
  for (const route of routes) registerApiRoute(app, route, tokens);
  const openApi = buildOpenApi(routes, API_PREFIX, VERSION);
  app.get(`${API_PREFIX}/openapi.json`, async () => openApi);
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.text();
  });
  for (const asset of loadDashboardAssets().values()) {
    app.get(asset.path, async (_request, reply) => reply.type(asset.contentType).header('cache-control', 'no-cache').send(asset.body));
  }
  return app;
}

/** A listening service and how to stop it. */
export interface RunningServer {
  app: FastifyInstance;
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  url: string;
  close(): Promise<void>;
}

/** Builds the service and listens on `server.host` / `server.port` (127.0.0.1:8080 by default). */
export async function startServer(qo: Optimizer, options: ServerOptions & { host?: string; port?: number } = {}): Promise<RunningServer> {
  const app = await buildServer(qo, options);
  const host = options.host ?? qo.config.server.host;
  await app.listen({ host, port: options.port ?? qo.config.server.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { app, url: `http://${shownHost}:${port}`, close: () => app.close() };
}
