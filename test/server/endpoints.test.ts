import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService } from './support.js';
import type { TestService } from './support.js';

interface EndpointCase {
  method: 'GET' | 'POST';
  path: string;
  /** A valid request: body for POST, query string for GET. */
  body?: unknown;
  search?: string;
  auth: boolean;
  /** For an open endpoint: a query string that makes it run SQL, and so needs the token. */
  authSearch?: string;
  /** The success answer and what to check in it. */
  expect: { status: 200; check?: (body: Record<string, unknown>) => void };
  invalid?: { body?: unknown; search?: string; field: string };
}

const CASES: EndpointCase[] = [
  {
    method: 'GET',
    path: '/optimization/status',
    auth: false,
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ status: 'ok', database: { reachable: true, dialect: 'postgres' } }) },
  },
  {
    method: 'POST',
    path: '/optimization/analyze-query',
    body: { query: "SELECT * FROM users WHERE created_at > '2024-01-01'", database_type: 'postgresql' },
    auth: true,
    expect: {
      status: 200,
      check: (body) =>
        expect(body).toMatchObject({ kind: 'read', tables: ['users'], normalized: 'SELECT * FROM users WHERE created_at > $1', cacheable: true }),
    },
    invalid: { body: { query: 'SELEC 1' }, field: 'query' },
  },
  {
    method: 'POST',
    path: '/optimization/optimize-query',
    body: { query: 'SELECT 1', database_type: 'postgresql', optimization_level: 3, enable_caching: true },
    auth: true,
    expect: {
      status: 200,
      check: (body) => expect(body).toMatchObject({ level: 3, optimized_query: 'SELECT 1', findings: expect.any(Array), caching: { cacheable: expect.any(Boolean) } }),
    },
    invalid: { body: { query: 'SELECT 1', optimization_level: 7 }, field: 'optimization_level' },
  },
  {
    method: 'GET',
    path: '/optimization/recommendations',
    auth: false,
    authSearch: '?fresh=true',
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ evaluator: expect.any(String), recommendations: expect.any(Array), skipped: expect.any(Array), generated_at: expect.any(String) }) },
    invalid: { search: '?fresh=perhaps', field: 'fresh' },
  },
  {
    method: 'GET',
    path: '/optimization/health',
    auth: false,
    authSearch: '?fresh=true',
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ status: expect.stringMatching(/^(healthy|degraded|critical)$/), findings: expect.any(Array), skipped: expect.any(Array) }) },
    invalid: { search: '?fresh=1', field: 'fresh' },
  },
  {
    method: 'GET',
    path: '/cache/statistics',
    auth: false,
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ enabled: true, l1: expect.anything(), hitRatio: expect.any(Number) }) },
  },
  {
    method: 'POST',
    path: '/cache/warm-up',
    body: { queries: ['SELECT 1'] },
    auth: true,
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ results: [{ query: 'SELECT 1', status: expect.any(String) }], hottest: null }) },
    invalid: { body: { queries: [] }, field: 'queries' },
  },
  {
    method: 'POST',
    path: '/cache/invalidate',
    body: { patterns: ['user:123:*'], scope: 'key_pattern' },
    auth: true,
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ scope: 'key_pattern', entries_removed: 0 }) },
    invalid: { body: { patterns: ['user:123:*'], scope: 'everything' }, field: 'scope' },
  },
  {
    method: 'POST',
    path: '/cache/optimize',
    body: {},
    auth: true,
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ l1: { dropped: expect.any(Number) }, advice: expect.any(Array), statistics: { enabled: true } }) },
    invalid: { body: { defragment: 'yes' }, field: 'defragment' },
  },
  {
    method: 'GET',
    path: '/performance/dashboard',
    search: '?limit=5',
    auth: false,
    expect: {
      status: 200,
      check: (body) => {
        expect(body.totals).toMatchObject({ calls: expect.any(Number), fingerprints: expect.any(Number) });
        expect(body.unavailable).toEqual([]);
        expect(body).toMatchObject({ slow_queries: expect.any(Array), alerts: expect.any(Array), recommendations: expect.any(Array), rewrites: expect.any(Array) });
        expect(body.cache).toMatchObject({ enabled: true, hitRatio: expect.any(Number) });
      },
    },
    invalid: { search: '?limit=0', field: 'limit' },
  },
  {
    method: 'GET',
    path: '/performance/slow-queries',
    search: '?limit=50&min_duration_ms=1000',
    auth: false,
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ log_threshold_ms: 1000, min_duration_ms: 1000, queries: expect.any(Array), by_query: expect.any(Array) }) },
    invalid: { search: '?limit=many', field: 'limit' },
  },
  {
    method: 'POST',
    path: '/performance/create-alert',
    body: { metric_type: 'execution_time', threshold_value: 5000, comparison_operator: '>', window_minutes: 5, min_occurrences: 3, severity: 'high' },
    auth: true,
    expect: {
      status: 200,
      check: (body) => expect(body).toMatchObject({ rule: { id: expect.any(String), metric_type: 'execution_time', threshold_value: 5000, window_minutes: 5 }, firing: false }),
    },
    invalid: { body: { metric_type: 'execution_time', threshold_value: 5000, comparison_operator: '!=' }, field: 'comparison_operator' },
  },
  {
    method: 'GET',
    path: '/performance/alerts',
    search: '?active_only=true',
    auth: false,
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ active: expect.any(Array) }) },
    invalid: { search: '?active_only=maybe', field: 'active_only' },
  },
  {
    method: 'GET',
    path: '/execution/metrics',
    auth: false,
    expect: {
      status: 200,
      check: (body) =>
        expect(body).toMatchObject({
          completed: expect.any(Number),
          targets: [{ role: 'primary', pool: { total: expect.any(Number), idle: expect.any(Number), waiting: 0, max: expect.any(Number) } }],
        }),
    },
  },
  {
    method: 'POST',
    path: '/query',
    body: { sql: 'SELECT 41 + 1 AS answer' },
    auth: true,
    expect: { status: 200, check: (body) => expect(body).toMatchObject({ rows: [{ answer: 42 }], row_count: 1, command: 'SELECT' }) },
    invalid: { body: { sql: 42 }, field: 'sql' },
  },
];

describe('the /api/v1 endpoints on a real service', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });

  afterAll(async () => {
    await service.close();
  });

  describe.each(CASES)('$method $path', (endpoint) => {
    const url = `/api/v1${endpoint.path}`;

    it('answers 200 with its data, exactly as its response schema says (no field missing, none extra)', async () => {
      const response = await service.request(endpoint.method, `${url}${endpoint.search ?? ''}`, { body: endpoint.body });
      expect(response.status).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      endpoint.expect.check?.(body);
      service.parseAnswer(endpoint.method, url, body);
    });

    if (endpoint.invalid) {
      const invalid = endpoint.invalid;
      it(`answers 400 naming the field ${invalid.field} when it is invalid`, async () => {
        const response = await service.request(endpoint.method, `${url}${invalid.search ?? ''}`, { body: invalid.body });
        expect(response.status).toBe(400);
        const body = (await response.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ error: 'VALIDATION_FAILED', field: invalid.field });
        expect(body.reason).toEqual(expect.any(String));
      });
    }

    if (endpoint.auth) {
      it('answers 401 without a bearer token and with a wrong one', async () => {
        const missing = await service.request(endpoint.method, url, { body: endpoint.body, token: null });
        expect(missing.status).toBe(401);
        expect(await missing.json()).toMatchObject({ error: 'UNAUTHORIZED' });
        const wrong = await service.request(endpoint.method, url, { body: endpoint.body, token: 'not-the-token' });
        expect(wrong.status).toBe(401);
      });
    } else {
      it('needs no token (it changes nothing and runs no client SQL)', async () => {
        const response = await service.request(endpoint.method, `${url}${endpoint.search ?? ''}`, { token: null });
        expect(response.status).not.toBe(401);
      });
    }

    if (endpoint.authSearch) {
      it(`answers 401 to ${endpoint.authSearch} without a bearer token and with a wrong one, 200 with it`, async () => {
        const fresh = `${url}${endpoint.authSearch}`;
        const missing = await service.request(endpoint.method, fresh, { token: null });
        expect(missing.status).toBe(401);
        expect(await missing.json()).toMatchObject({ error: 'UNAUTHORIZED' });
        expect((await service.request(endpoint.method, fresh, { token: 'not-the-token' })).status).toBe(401);
        expect((await service.request(endpoint.method, fresh)).status).toBe(200);
      });
    }

    it('answers 404 for the wrong method or a path below it', async () => {
      const other = endpoint.method === 'GET' ? 'DELETE' : 'GET';
      expect((await service.request(other, url)).status).toBe(404);
      const below = await service.request(endpoint.method, `${url}/nothing-here`, { body: endpoint.body });
      expect(below.status).toBe(404);
      expect(await below.json()).toMatchObject({ error: 'NOT_FOUND' });
    });
  });
});
