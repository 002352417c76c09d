import { Readable } from 'node:stream';
import { z } from 'zod';
import { queryPolicyOf } from '../policyDriver.js';
import { GuardedQueryRunner } from '../queryRunner.js';
import type { StreamLine } from '../queryRunner.js';
import { defineRoute } from '../route.js';
import type { ApiRoute, ServiceContext } from '../route.js';

const parameter = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** Body of `POST /query`. Role and statement timeout are the operator's; a body cannot name them. */
export const queryBody = z.strictObject({
  sql: z.string().min(1).max(100_000).describe('one SELECT, INSERT, UPDATE or DELETE statement, with $1… placeholders'),
  params: z.array(parameter).max(10_000).default([]),
  priority: z.enum(['low', 'normal', 'high', 'critical']).default('normal').describe('executor queue priority under saturation (critical = high)'),
  cache: z.boolean().default(true).describe('serve and store a cacheable read through the result cache (kept apart per operator role)'),
  stream: z.boolean().default(false).describe('answer as NDJSON: a fields line, one JSON array per row, a totals line'),
});

/** Answer of a non-streamed `POST /query`. */
export const queryResponse = z.strictObject({
  rows: z.array(z.record(z.string(), z.unknown())),
  row_count: z.number().int(),
  fields: z.array(z.strictObject({ name: z.string(), data_type_id: z.number().int() })),
  command: z.string(),
  duration_ms: z.number(),
  applied: z.strictObject({ priority: z.boolean(), cache: z.enum(['hit', 'miss', 'bypass']) }).describe('the priority was applied; where the rows came from (bypass: not cacheable, cache: false, or no cache)'),
});

function ndjson(lines: AsyncIterable<StreamLine>): Readable {
  return Readable.from(
    (async function* () {
      for await (const line of lines) yield `${JSON.stringify(line)}\n`;
    })(),
  );
}

/** `POST /query`: client SQL under the operator's role and timeout, as JSON or streamed NDJSON. */
export function queryRoutes({ qo, config }: ServiceContext): ApiRoute<never, never>[] {
  const runner = new GuardedQueryRunner(qo, queryPolicyOf(config.server));
  // Warm-up re-runs what /query loaded through this runner: under the operator's role and timeout, never the service's.
  qo.registerWarmUpLoader(runner.cacheIdentity(), ({ sql, params }) => runner.warm(sql, params));
  return [
    defineRoute({
      method: 'POST',
      path: '/query',
      summary: 'Runs one statement through qopt under the operator-chosen role and statement timeout; large results stream as NDJSON',
      tag: 'query',
      auth: true,
      body: queryBody,
      response: queryResponse,
      errors: [413],
      async handler({ body, reply }) {
        if (body.stream) {
          const lines = runner.stream(body.sql, body.params);
          reply.type('application/x-ndjson');
          return ndjson(lines);
        }
        const result = await runner.run(body.sql, body.params, { priority: body.priority === 'critical' ? 'high' : body.priority, cache: body.cache });
        return {
          rows: result.rows,
          row_count: result.rowCount,
          fields: result.fields.map((field) => ({ name: field.name, data_type_id: field.dataTypeID })),
          command: result.command,
          duration_ms: result.durationMs,
          applied: { priority: true, cache: result.cache },
        } satisfies z.infer<typeof queryResponse>;
      },
    }),
  ];
}
