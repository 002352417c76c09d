import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService } from './support.js';
import type { TestService } from './support.js';

// JSON answers: their shape is what the expectations check, not the type system.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

// The endpoints that act on the monitor, the cache, the advisor and the rewriter, checked by their effect;
// every answer, full of what the workload left, must also be exactly what its response schema says.
describe('monitor, cache, advisor and rewrite endpoints, by their effect', () => {
  let service: TestService;
  const answer = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await service.request(method, `/api/v1${path}`, { body });
    expect(response.status, `${path}: ${response.status}`).toBe(200);
    const json = (await response.json()) as Json;
    service.parseAnswer(method, `/api/v1${path}`, json);
    return json;
  };
  const post = (path: string, body: unknown) => answer('POST', path, body);
  const get = (path: string) => answer('GET', path);
  const byId = 'SELECT v FROM items WHERE id = $1';
  const cached = (sql: string, params: unknown[]) => service.qo.cache.isCachedLocally(service.qo.analyze(sql), params);

  beforeAll(async () => {
    service = await startTestService({ monitor: { slowQueryThresholdMs: 20 }, cache: { warmUpIntervalSeconds: 0 } }, 'qopt_srv_insight');
    await service.qo.query('CREATE TABLE items (id int PRIMARY KEY, category int NOT NULL, v int NOT NULL)');
    await service.qo.query('INSERT INTO items SELECT g, g % 500, g FROM generate_series(1, 30000) g');
    await service.qo.query('ANALYZE items');
  });

  afterAll(async () => {
    await service.close();
  });

  it('POST /cache/warm-up caches the given reads, and runs nothing that is not a cacheable read', async () => {
    const body = await post('/cache/warm-up', { queries: [{ sql: byId, params: [7] }, 'UPDATE items SET v = 0 WHERE id = 7', { sql: byId }] });
    expect(body.results).toEqual([
      { query: byId, status: 'cached' },
      { query: 'UPDATE items SET v = 0 WHERE id = 7', status: 'not_cacheable', reason: expect.any(String) },
      { query: byId, status: 'failed', reason: 'needs 1 parameter(s): send { sql, params }' },
    ]);
    expect(body.warmed).toBe(1);
    expect(cached(byId, [7])).toBe(true);
    expect((await service.qo.query(byId, [7], { cache: false })).rows).toEqual([{ v: 7 }]);
  });

  it('POST /cache/warm-up with hottest re-runs the hottest cached reads that were invalidated', async () => {
    for (let round = 0; round < 10; round += 1) await service.qo.query(byId, [11]);
    await service.qo.cache.invalidateTables(['items']);
    expect(cached(byId, [11])).toBe(false);
    const body = await post('/cache/warm-up', { hottest: { top: 5, per_query: 2 } });
    expect(body.hottest).toMatchObject({ warmed: expect.any(Number), failed: 0 });
    expect(body.hottest.warmed).toBeGreaterThanOrEqual(1);
    expect(cached(byId, [11])).toBe(true);
  });

  it('POST /cache/invalidate evicts by key pattern and by table', async () => {
    await service.qo.query(byId, [21]);
    expect(cached(byId, [21])).toBe(true);
    const byPattern = await post('/cache/invalidate', { patterns: ['*FROM items WHERE id = $1*21*'], scope: 'key_pattern' });
    expect(byPattern.entries_removed).toBeGreaterThanOrEqual(1);
    expect(cached(byId, [21])).toBe(false);

    await service.qo.query(byId, [22]);
    await post('/cache/invalidate', { patterns: ['items'], scope: 'table' });
    expect(cached(byId, [22])).toBe(false);
  });

  it('POST /cache/optimize drops entries a write invalidated from memory', async () => {
    await service.qo.query(byId, [31]);
    await service.qo.query(byId, [32]);
    await service.qo.query('UPDATE items SET v = v WHERE id = 31');
    const body = await post('/cache/optimize', {});
    expect(body.l1.dropped).toBeGreaterThanOrEqual(1);
    expect(body.l1.entriesAfter).toBe(body.l1.entriesBefore - body.l1.dropped);
    expect(cached(byId, [32])).toBe(true);
  });

  it('GET /performance/slow-queries lists executions over the threshold, with a summary per shape', async () => {
    await service.qo.query('SELECT pg_sleep(0.03) AS slept');
    const body = await get('/performance/slow-queries?min_duration_ms=20&limit=10');
    expect(body.log_threshold_ms).toBe(20);
    const slept = body.queries.find((entry: { normalized: string }) => entry.normalized.includes('pg_sleep'));
    expect(slept).toMatchObject({ duration_ms: expect.any(Number), failed: false });
    expect(slept.duration_ms).toBeGreaterThanOrEqual(20);
    expect(slept.complexity).toMatchObject({ score: expect.any(Number), level: 'low', from_plan: expect.any(Boolean) });
    expect(body.by_query.some((shape: { normalized: string; count: number }) => shape.normalized.includes('pg_sleep') && shape.count >= 1)).toBe(true);
    const none = await get('/performance/slow-queries?min_duration_ms=100000');
    expect(none.queries).toEqual([]);
  });

  it('GET /performance/slow-queries reports an N+1 loop with the batched statement that replaces it', async () => {
    await service.qo.withContext('GET /items', async () => {
      for (let id = 100; id < 112; id += 1) await service.qo.query(byId, [id], { cache: false });
    });
    const body = await get('/performance/slow-queries?min_duration_ms=100000');
    expect(body.n_plus_one).toContainEqual(expect.objectContaining({ where: 'GET /items', batchedSql: expect.stringContaining('ANY') }));
  });

  it('GET /performance/slow-queries lists a slow POST /query, streamed or not: the service runs through the monitor', async () => {
    expect((await service.request('POST', '/api/v1/query', { body: { sql: 'SELECT pg_sleep(0.03) AS slept_in_query' } })).status).toBe(200);
    const streamed = await service.request('POST', '/api/v1/query', { body: { sql: 'SELECT pg_sleep(0.03) AS slept_in_stream', stream: true } });
    expect(await streamed.text()).toContain('"rowCount":1');
    const body = await get('/performance/slow-queries?min_duration_ms=20&limit=50');
    const normalized = body.queries.map((entry: { normalized: string }) => entry.normalized);
    expect(normalized).toEqual(expect.arrayContaining([expect.stringContaining('slept_in_query'), expect.stringContaining('slept_in_stream')]));
  });

  it('POST /performance/create-alert creates a rule that fires on what happened, and GET /performance/alerts lists it', async () => {
    await service.qo.query('SELECT pg_sleep(0.01) AS slept');
    const created = await post('/performance/create-alert', {
      metric_type: 'execution_time',
      threshold_value: 5,
      comparison_operator: '>',
      window_minutes: 1,
      min_occurrences: 1,
      severity: 'critical',
      name: 'anything over 5 ms',
    });
    expect(created).toMatchObject({ firing: true, rule: { metric_type: 'execution_time', severity: 'critical' } });
    const alerts = await get('/performance/alerts?active_only=true');
    expect(alerts.active).toContainEqual(expect.objectContaining({ rule_id: created.rule.id, severity: 'critical', name: 'anything over 5 ms' }));
    const all = await get('/performance/alerts?active_only=false');
    expect(all.rules).toContainEqual(expect.objectContaining({ id: created.rule.id }));
    expect(all.events).toContainEqual(expect.objectContaining({ ruleId: created.rule.id, status: 'firing' }));

    const dashboard = await get('/performance/dashboard');
    expect(dashboard.alerts).toContainEqual(expect.objectContaining({ rule_id: created.rule.id }));
    expect(dashboard.slow_queries.some((entry: { normalized: string }) => entry.normalized.includes('pg_sleep'))).toBe(true);
  });

  it('POST /performance/create-alert accepts the seed metric names and refuses windows the recorder has not', async () => {
    const created = await post('/performance/create-alert', { metric_type: 'memory_usage', threshold_value: 99.9, comparison_operator: '>' });
    expect(created.rule.metric_type).toBe('memory_usage_percentage');
    const response = await service.request('POST', '/api/v1/performance/create-alert', { body: { metric_type: 'error_rate', threshold_value: 5, comparison_operator: '>', window_minutes: 7 } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ field: 'window_minutes' });
  });

  it('GET /optimization/recommendations proposes the index the recorded workload lacks, and the dashboard shows it', async () => {
    const byCategory = 'SELECT id, v FROM items WHERE category = $1';
    for (let call = 0; call < 30; call += 1) await service.qo.query(byCategory, [call], { cache: false });
    const body = await get('/optimization/recommendations?fresh=true');
    const recommendation = body.recommendations.find((entry: { table: string; definition: string }) => /items.*\(category/.test(entry.definition));
    expect(recommendation, JSON.stringify(body.recommendations)).toBeDefined();
    expect(body.migration_sql).toContain('CREATE INDEX CONCURRENTLY');
    // Another limit: the dashboard's answer is reused for a moment per limit.
    const dashboard = await get('/performance/dashboard?limit=7');
    expect(dashboard.recommendations).toContainEqual(expect.objectContaining({ definition: recommendation.definition }));
  });

  it('GET /optimization/health reports findings with their remediation', async () => {
    await service.qo.query('CREATE INDEX items_v_a ON items (v)');
    await service.qo.query('CREATE INDEX items_v_b ON items (v)');
    const body = await get('/optimization/health?fresh=true');
    expect(body.findings).toContainEqual(expect.objectContaining({ object: expect.stringContaining('items_v_'), remediation: expect.stringContaining('DROP INDEX') }));
  });

  it('POST /optimization/optimize-query reports findings and the plan, and needs the parameters the query has', async () => {
    const body = await post('/optimization/optimize-query', { query: 'SELECT * FROM items ORDER BY random() LIMIT 5', optimization_level: 2 });
    expect(body.findings.length).toBeGreaterThan(0);
    expect(body.plan).toMatchObject({ cost: { totalCost: expect.any(Number) } });
    expect(body.rewrites).toBeNull();
    const missing = await service.request('POST', '/api/v1/optimization/optimize-query', { body: { query: byId } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ field: 'params' });
    const withParams = await post('/optimization/optimize-query', { query: byId, params: [3] });
    expect(withParams).toMatchObject({ level: 3, optimized_query: expect.any(String), caching: { cacheable: true, depends_on: expect.any(Array) } });
  });

  it('POST /optimization/optimize-query answers the rewrites it verified, each with its proof or the reasons it has none', async () => {
    const body = await post('/optimization/optimize-query', { query: 'SELECT id, v FROM items WHERE id IN (1, 2, 3)' });
    const verified = body.rewrites.verified.find((rewrite: Json) => rewrite.rules.includes('in-list-to-any'));
    expect(verified, JSON.stringify(body.rewrites)).toBeDefined();
    expect(verified.verdict).toMatchObject({ proven: expect.any(Boolean), before: { totalCost: expect.any(Number) }, after: { totalCost: expect.any(Number) } });
  });
});

describe('cache endpoints without the cache', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ cache: { enabled: false } }, 'qopt_srv_nocache');
  });

  afterAll(async () => {
    await service.close();
  });

  it('answer 501 naming the cache capability', async () => {
    for (const [path, body] of [
      ['/cache/warm-up', { queries: ['SELECT 1'] }],
      ['/cache/invalidate', { patterns: ['*'], scope: 'all' }],
      ['/cache/optimize', {}],
    ] as const) {
      const response = await service.request('POST', `/api/v1${path}`, { body });
      expect(response.status, path).toBe(501);
      expect(await response.json()).toMatchObject({ error: 'CAPABILITY_UNAVAILABLE', capability: 'cache' });
    }
  });
});
