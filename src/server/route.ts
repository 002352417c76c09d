import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Optimizer } from '../optimizer.js';
import type { QoptConfig } from '../config.js';
import type { CapabilitySet } from './capabilities.js';
import type { ServiceInsights } from './insights.js';
import { RequestValidationError } from './errors.js';

/** What a route handler receives: the parsed input, and the request and reply for headers and streams. */
export interface RouteContext<Body, Query> {
  body: Body;
  query: Query;
  request: FastifyRequest;
  reply: FastifyReply;
}

/**
 * One endpoint, described once: its schemas validate requests, type the handler's answer and generate the
 * OpenAPI document. `auth` marks endpoints that change state or run SQL (bearer token required).
 */
export interface ApiRoute<Body = unknown, Query = unknown, Response = unknown> {
  method: 'GET' | 'POST';
  /** Path under the API prefix, e.g. `/optimization/status`. */
  path: string;
  summary: string;
  tag: string;
  auth: boolean;
  /** For an endpoint open without a token: the inputs that make it run SQL, and so need the token (`fresh=true`). */
  authWhen?: (query: Query) => boolean;
  body?: z.ZodType<Body>;
  querystring?: z.ZodType<Query>;
  /** The success answer's schema: the handler must return its type, and OpenAPI documents it. */
  response: z.ZodType<Response>;
  /** Content type of the success answer when it is not JSON. */
  produces?: string;
  /** Answers this endpoint may give besides 200 (documented in OpenAPI). */
  errors?: readonly number[];
  /** The answer; a stream (NDJSON) is sent as it is, outside the schema. */
  handler(context: RouteContext<Body, Query>): Promise<NoInfer<Response> | Readable>;
}

/** What every route area is built from. */
export interface ServiceContext {
  qo: Optimizer;
  config: QoptConfig;
  capabilities: CapabilitySet;
  version: string;
  /** Epoch milliseconds the service started at. */
  startedAt: number;
  /** The advisor's and health checks' latest answers, and rewrites proven through the API. */
  insights: ServiceInsights;
}

/** Declares a route with its body, query and answer types inferred from the schemas. */
export function defineRoute<Body = undefined, Query = undefined, Response = unknown>(route: ApiRoute<Body, Query, Response>): ApiRoute<never, never> {
  return route as unknown as ApiRoute<never, never>;
}

/** Parses input against a schema; the first issue becomes a 400 naming its field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(input ?? (where === 'query' ? {} : undefined));
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // An unknown key is reported on its parent; name the key itself so the client sees what to remove.
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  throw new RequestValidationError(path.length > 0 ? path.join('.') : where, issue.message);
}
