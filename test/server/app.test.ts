import { gunzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createOptimizer } from '../../src/optimizer.js';
import { apiRoutes, createServiceContext, startServer } from '../../src/server/app.js';
import { DATABASE_URL } from '../support/postgres.js';
import { startTestService, TOKEN } from './support.js';
import type { TestService } from './support.js';

function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

describe('the service', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ server: { bodyLimitBytes: 4096, dashboardMaxAgeMs: 600_000 } });
  });

  afterAll(async () => {
    await service.close();
  });

  it('answers an unknown route with a JSON 404 naming it', async () => {
    const response = await service.request('GET', '/api/v1/nothing');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'NOT_FOUND', message: 'no route GET /api/v1/nothing' });
  });

  it('refuses a body above the limit with 413 before reading it all', async () => {
    const response = await service.request('POST', '/api/v1/optimization/analyze-query', { body: { query: `SELECT '${'x'.repeat(8000)}'` } });
    expect(response.status).toBe(413);
  });

  it('answers malformed JSON with 400', async () => {
    const response = await service.request('POST', '/api/v1/query', { body: '{"sql": ' });
    expect(response.status).toBe(400);
  });

  it('names an unknown body field in its 400 (a client cannot smuggle options such as a role)', async () => {
    const response = await service.request('POST', '/api/v1/query', { body: { sql: 'SELECT 1', role: 'postgres' } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ field: 'role' });
  });

  it('compresses large answers for clients that accept gzip', async () => {
    const response = await rawGet(`${service.server.url}/api/v1/openapi.json`, { 'accept-encoding': 'gzip' });
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(response.body).toString('utf8'))).toMatchObject({ openapi: '3.1.0' });
  });

  it('serves the dashboard page, its script and Chart.js from the package', async () => {
    const page = await service.request('GET', '/', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<canvas id="chart-total"');
    for (const path of ['/dashboard/app.js', '/dashboard/chart.umd.min.js', '/dashboard/app.css']) {
      const asset = await service.request('GET', path, { token: null });
      expect(asset.status, path).toBe(200);
    }
    expect(await (await service.request('GET', '/dashboard/chart.umd.min.js')).text()).toContain('Chart');
  });

  it('recomputes the dashboard numbers at most once per dashboardMaxAgeMs, however many pages poll', async () => {
    const polled = await Promise.all([1, 2, 3].map(async () => (await (await service.request('GET', '/api/v1/performance/dashboard')).json()) as { generated_at: string }));
    expect(new Set(polled.map((body) => body.generated_at)).size).toBe(1);
  });

  it('exposes Prometheus metrics counting requests by route pattern and status', async () => {
    await service.request('GET', '/api/v1/optimization/status');
    const response = await service.request('GET', '/metrics', { token: null });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/qopt_http_requests_total\{method="GET",route="\/api\/v1\/optimization\/status",status="200"\} [1-9]/);
    expect(text).toContain('qopt_http_request_duration_seconds_bucket');
    expect(text).toContain('qopt_query_calls');
  });

  it('documents every endpoint in OpenAPI with the request and response schemas generated from the same zod schemas', async () => {
    const document = (await (await service.request('GET', '/api/v1/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> }; security?: unknown; responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> }>
      >;
    };
    const routes = apiRoutes(await createServiceContext(service.qo));
    expect(routes.length).toBeGreaterThanOrEqual(16);
    for (const route of routes) {
      const operation = document.paths[`/api/v1${route.path}`]?.[route.method.toLowerCase()];
      expect(operation, route.path).toBeDefined();
      if (route.body) {
        const { $schema: _ignored, ...expected } = z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
        expect(operation!.requestBody!.content['application/json']!.schema, route.path).toEqual(expected);
      }
      const { $schema: _ignored, ...answer } = z.toJSONSchema(route.response, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
      const documented = operation!.responses['200']!.content!['application/json']!.schema;
      expect(documented, route.path).toEqual(answer);
      expect(documented, route.path).toMatchObject({ type: 'object', properties: expect.any(Object) });
      expect(Object.keys(documented.properties as object).length, route.path).toBeGreaterThan(0);
      expect(Boolean(operation!.security), route.path).toBe(route.auth);
      if (route.auth) expect(operation!.responses['401'], route.path).toBeDefined();
    }
  });
});

describe('service safety settings', () => {
  it('binds to 127.0.0.1 unless told otherwise', async () => {
    const qo = await createOptimizer({ database: { url: DATABASE_URL, poolMax: 1 } });
    const server = await startServer(qo, { port: 0 });
    try {
      const address = server.app.server.address();
      expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
    } finally {
      await server.close();
      await qo.close();
    }
  });

  it('keeps SQL-running endpoints closed (401) when no token is configured', async () => {
    const qo = await createOptimizer({ database: { url: DATABASE_URL, poolMax: 1 }, server: { apiToken: undefined } });
    const server = await startServer(qo, { port: 0 });
    try {
      const response = await fetch(`${server.url}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ sql: 'SELECT 1' }),
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { message: string }).message).toContain('QOPT_API_TOKEN');
    } finally {
      await server.close();
      await qo.close();
    }
  });

  it('limits requests per token: the configured token over its budget gets 429 while the address is still answered', async () => {
    const service = await startTestService({ server: { rateLimitPerMinute: 3 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await service.request('GET', '/api/v1/optimization/status')).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const anonymous = await service.request('GET', '/api/v1/optimization/status', { token: null });
      expect(anonymous.status).toBe(200);
    } finally {
      await service.close();
    }
  });

  it('keys made-up tokens by address: a fresh fake token per request still gets 429', async () => {
    const service = await startTestService({ server: { rateLimitPerMinute: 3 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await service.request('GET', '/api/v1/optimization/status', { token: `made-up-${i}` })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await service.close();
    }
  });
});
