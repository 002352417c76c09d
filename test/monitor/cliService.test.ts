import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../support/cliProgram.js';
import { startTestService } from '../server/support.js';
import type { TestService } from '../server/support.js';

// `qopt top|slow|alerts --service URL` read what a running service saw, not this process.
describe('qopt top / slow / alerts --service', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ monitor: { slowQueryThresholdMs: 20 }, cache: { enabled: false } }, 'qopt_cli_service');
    const { qo } = service;
    await qo.query('CREATE TABLE items (id int PRIMARY KEY, label text)');
    await qo.query("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
    await qo.query('SELECT pg_sleep(0.05)');
    await qo.withContext('GET /items', async () => {
      for (let id = 1; id <= 30; id += 1) await qo.query('SELECT label FROM items WHERE id = $1', [id]);
    });
    await qo.monitor.slowLog.settle();
    qo.monitor.alerts.addRule({ id: 'any-slow', metric_type: 'execution_time', threshold_value: 20, comparison_operator: '>', window_minutes: 5, min_occurrences: 1, severity: 'high' });
    qo.monitor.alerts.evaluate();
  });

  afterAll(() => service.close());

  it('top lists the service’s fingerprints with its percentiles', async () => {
    const report = JSON.parse(await run(['top', '--service', service.server.url, '--json'])) as { source: string; note: string; rows: Array<{ query: string; qopt: { calls: number; p99Ms: number } | null }> };
    expect(report.source).toBe('qopt');
    expect(report.note).toContain(service.server.url);
    const lookup = report.rows.find((row) => /FROM items WHERE id = \$1/i.test(row.query));
    expect(lookup?.qopt?.calls).toBe(30);
    expect(lookup!.qopt!.p99Ms).toBeGreaterThan(0);
  });

  it('slow shows the service’s slow executions and its N+1 findings', async () => {
    const report = JSON.parse(await run(['slow', '--service', service.server.url, '--json'])) as { queries: Array<{ normalized: string }>; n_plus_one: Array<{ where: string; calls: number }> };
    expect(report.queries.map((entry) => entry.normalized)).toContainEqual(expect.stringMatching(/pg_sleep/));
    expect(report.n_plus_one.map((finding) => [finding.where, finding.calls >= 10])).toContainEqual(['GET /items', true]);
    expect(report.n_plus_one.some((finding) => finding.where === 'GET /items' && finding.calls >= 10)).toBe(true);
    const text = await run(['slow', '--service', service.server.url]);
    expect(text).toContain(`the service at ${service.server.url}`);
    expect(text).toMatch(/pg_sleep/);
  });

  it('alerts shows the service’s rules and what fires', async () => {
    const report = JSON.parse(await run(['alerts', '--service', service.server.url, '--json'])) as { rules: Array<{ id: string }>; active: Array<{ rule_id: string }>; anomalies: unknown[] };
    expect(report.rules.map((rule) => rule.id)).toContain('any-slow');
    expect(report.active.map((alert) => alert.rule_id)).toContain('any-slow');
    expect(Array.isArray(report.anomalies)).toBe(true);
  });

  it('refuses --service with --workload, and names a service it cannot reach', async () => {
    await expect(run(['top', '--service', service.server.url, '--workload', 'market'])).rejects.toThrow(/give one of them/);
    await expect(run(['slow', '--service', 'http://127.0.0.1:1'])).rejects.toThrow(/cannot connect to the qopt service at http:\/\/127\.0\.0\.1:1/);
  });
});
