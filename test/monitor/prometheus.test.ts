import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import { DURATION_BUCKETS_SECONDS, MAX_COLLECTION_LABELS } from '../../src/monitor/prometheus.js';
import type { Fingerprint } from '../../src/sql/analyze.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

/**
 * One series of a labeled histogram as the parser can read it: the parser folds every label set of a
 * histogram family into one, so the series is cut out and its non-`le` labels are dropped first.
 */
function histogramSeries(text: string, family: string, labels: Record<string, string>) {
  const wanted = Object.entries(labels).map(([name, value]) => `${name}="${value}"`);
  const lines = text.split('\n').filter((line) => line.startsWith(`# HELP ${family} `) || line.startsWith(`# TYPE ${family} `) || (line.startsWith(`${family}_`) && wanted.every((label) => line.includes(label))));
  const stripped = lines.map((line) => line.replace(/\{[^}]*?(le="[^"]*")[^}]*\}/, '{$1}').replace(/\{(?![^}]*le=)[^}]*\}/, ''));
  return parsePrometheusTextFormat(stripped.join('\n') + '\n')[0]!.metrics[0]!;
}

describe('Prometheus exposition', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_monitor_prom');
    qo = await createOptimizer({ database: { url: schema.url } });
    await qo.query('CREATE TABLE accounts (id int PRIMARY KEY, email text)');
    for (let id = 1; id <= 30; id += 1) await qo.query('INSERT INTO accounts VALUES ($1, $2)', [id, `user${id}@example.com`]);
    for (let id = 1; id <= 30; id += 1) await qo.query('SELECT email FROM accounts WHERE id = $1', [id]);
    await expect(qo.query('SELECT nope FROM accounts')).rejects.toThrow();
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it('serves text a Prometheus parser reads: the OpenTelemetry duration histogram with sub-millisecond buckets', async () => {
    const text = await qo.metrics();
    const families = parsePrometheusTextFormat(text);
    const duration = families.find((family) => family.name === 'db_client_operation_duration_seconds');
    expect(duration?.type).toBe('HISTOGRAM');
    expect(text).toContain('db_client_operation_duration_seconds_count{db_system_name="postgresql",db_operation_name="SELECT",db_collection_name="accounts"} 31');
    const select = histogramSeries(text, 'db_client_operation_duration_seconds', { db_operation_name: 'SELECT', db_collection_name: 'accounts' });
    expect(Number(select.count)).toBe(31);
    expect(Number(select.sum)).toBeGreaterThan(0);
    expect(new Set(Object.keys(select.buckets!))).toEqual(new Set([...DURATION_BUCKETS_SECONDS.map(String), '+Inf']));
    expect(Number(DURATION_BUCKETS_SECONDS[0])).toBeLessThan(0.001);
    const counts = [...DURATION_BUCKETS_SECONDS.map(String), '+Inf'].map((bound) => Number(select.buckets![bound]));
    for (let i = 1; i < counts.length; i += 1) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
    expect(counts.at(-1)).toBe(31);
    const insert = histogramSeries(text, 'db_client_operation_duration_seconds', { db_operation_name: 'INSERT' });
    expect(Number(insert.count)).toBe(30);
    const errors = families.find((family) => family.name === 'db_client_operation_errors_total');
    expect(errors!.metrics.map((sample) => Number(sample.value))).toEqual([1]);
    const pool = families.find((family) => family.name === 'db_client_connection_count');
    expect(pool?.type).toBe('GAUGE');
  });

  it('never puts SQL text into a label, and bounds the collection label to the first tables seen, for good', async () => {
    for (let table = 0; table < MAX_COLLECTION_LABELS + 20; table += 1) {
      qo.recorder.record({ fingerprint: `fp${table}` as Fingerprint, normalized: `SELECT * FROM t${table} WHERE x = $1`, durationMs: 0.2, rows: 1, failed: false, operation: 'SELECT', collection: `t${table}` });
    }
    const text = await qo.metrics();
    const families = parsePrometheusTextFormat(text);
    expect(text).not.toMatch(/SELECT \*|WHERE/);
    expect(families.find((family) => family.name === 'db_client_operation_duration_seconds')?.type).toBe('HISTOGRAM');
    const countLines = text.split('\n').filter((line) => line.startsWith('db_client_operation_duration_seconds_count{'));
    const collections = new Set(countLines.map((line) => /db_collection_name="([^"]*)"/.exec(line)![1]));
    expect(collections.size).toBeLessThanOrEqual(MAX_COLLECTION_LABELS + 1);
    expect(collections.has('_other')).toBe(true);
    const total = countLines.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    // CREATE TABLE, 30 INSERTs, 31 SELECTs (one failed), then the synthetic fingerprints.
    expect(total).toBe(62 + MAX_COLLECTION_LABELS + 20);
    // Heavy traffic on a table that came too late for a name does not take one from another: series never vanish.
    for (let call = 0; call < 500; call += 1) {
      qo.recorder.record({ fingerprint: 'fp-late' as Fingerprint, normalized: 'SELECT * FROM late_table', durationMs: 0.2, rows: 1, failed: false, operation: 'SELECT', collection: 'late_table' });
    }
    const later = (await qo.metrics()).split('\n').filter((line) => line.startsWith('db_client_operation_duration_seconds_count{'));
    const laterCollections = new Set(later.map((line) => /db_collection_name="([^"]*)"/.exec(line)![1]));
    expect([...collections].every((collection) => laterCollections.has(collection))).toBe(true);
    expect(laterCollections.has('late_table')).toBe(false);
  });
});
