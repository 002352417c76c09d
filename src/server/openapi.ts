import { z } from 'zod';
import type { ApiRoute } from './route.js';

/** The body of every error answer (validation failures add `field` and `reason`). */
export const errorResponseSchema = z.object({
  error: z.string().describe('stable error code, e.g. VALIDATION_FAILED, UNAUTHORIZED, CAPABILITY_UNAVAILABLE'),
  message: z.string(),
  field: z.string().optional().describe('the request field that failed validation'),
  reason: z.string().optional(),
  capability: z.string().optional().describe('the capability this build lacks (501)'),
});

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'validation failed: `field` names the field, `reason` says why',
  401: 'missing or invalid bearer token',
  404: 'not found',
  413: 'body or result too large',
  429: 'rate limit exceeded',
  501: 'the capability behind this endpoint is not in this build',
};

type JsonSchema = Record<string, unknown>;

// Requests are documented as clients send them (before coercions and defaults apply), answers as the handlers return them.
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function queryParameters(schema: z.ZodType): JsonSchema[] {
  const json = jsonSchemaOf(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({ name, in: 'query', required: required.has(name), schema: property }));
}

function operationOf(route: ApiRoute<never, never>): JsonSchema {
  const responses: Record<string, unknown> = {
    200: {
      description: 'success',
      content: { [route.produces ?? 'application/json']: { schema: jsonSchemaOf(route.response, 'output') } },
    },
  };
  const statuses = new Set<number>([...(route.errors ?? []), 429]);
  if (route.auth) statuses.add(401);
  if (route.body || route.querystring) statuses.add(400);
  for (const status of [...statuses].sort()) {
    responses[status] = { description: ERROR_DESCRIPTIONS[status] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  const operation: JsonSchema = { summary: route.summary, tags: [route.tag], responses };
  if (route.auth) operation.security = [{ bearer: [] }];
  if (route.querystring) operation.parameters = queryParameters(route.querystring);
  if (route.body) operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchemaOf(route.body) } } };
  return operation;
}

/** The OpenAPI 3.1 document of the API, generated from the routes' zod schemas (no second copy). */
export function buildOpenApi(routes: ReadonlyArray<ApiRoute<never, never>>, prefix: string, version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `${prefix}${route.path}`;
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'qopt', version, description: 'Query-performance service: analysis, caching, monitoring, execution and hybrid PostgreSQL + DuckDB queries.' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'QOPT_API_TOKEN (config server.apiToken)' } },
      schemas: { Error: jsonSchemaOf(errorResponseSchema) },
    },
  };
}
