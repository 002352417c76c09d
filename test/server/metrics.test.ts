import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService } from './support.js';
import type { TestService } from './support.js';

describe('the service’s /metrics', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({}, 'qopt_srv_metrics');
    await service.qo.query('CREATE TABLE items (id int PRIMARY KEY, label text)');
    for (let id = 1; id <= 5; id += 1) await service.qo.query('SELECT label FROM items WHERE id = $1', [id]);
    await service.request('GET', '/api/v1/optimization/status');
  });

  afterAll(() => service.close());

  it('serves the service’s series and the optimizer’s in one text a Prometheus parser reads', async () => {
    const response = await service.request('GET', '/metrics', { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    const families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
    for (const name of ['qopt_http_requests_total', 'qopt_query_calls', 'db_client_operation_duration_seconds', 'db_client_connection_count', 'qopt_cache_requests_total', 'qopt_slow_queries_total']) {
      expect(families.has(name), name).toBe(true);
    }
    // Every name appears once: the two registries never define the same series.
    const helpLines = text.split('\n').filter((line) => line.startsWith('# HELP '));
    expect(new Set(helpLines.map((line) => line.split(' ')[2])).size).toBe(helpLines.length);
    // The parser folds a histogram's label sets together: read the SELECT-on-items count from its line.
    const count = /^db_client_operation_duration_seconds_count\{([^}]*)\} (\d+)/m;
    const selects = text.split('\n').map((line) => count.exec(line)).filter((match) => match && /db_operation_name="SELECT"/.test(match[1]!) && /db_collection_name="items"/.test(match[1]!));
    expect(selects).toHaveLength(1);
    expect(Number(selects[0]![2])).toBeGreaterThanOrEqual(5);
  });
});
