import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWorkloadLoaded, loadWorkload, quietProgress, Rng, workloadByName, workloads } from '../../bench/workloads/index.js';
import { openDriver } from '../../src/index.js';
import type { Driver } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

/** A checksum of a table's contents, independent of physical order. */
async function tableChecksum(driver: Driver, table: string): Promise<string> {
  const result = await driver.query<{ sum: string }>(`select md5(string_agg(md5(t::text), '' order by md5(t::text))) as sum from ${table} t`);
  return result.rows[0]!.sum;
}

describe('seed workloads', () => {
  it('are the three seed workloads, each with a naive schema, seed indexes and queries', () => {
    expect(workloads.map((workload) => workload.name)).toEqual(['sheets', 'market', 'etl']);
    for (const workload of workloads) {
      expect(workload.schemaSql).not.toMatch(/CREATE INDEX/i);
      expect(workload.seedIndexes.length).toBeGreaterThan(0);
      expect(workload.queries.length).toBeGreaterThanOrEqual(4);
    }
    expect(() => workloadByName('nope')).toThrow(/unknown workload "nope" \(known: sheets, market, etl\)/);
  });

  it('size scale 1 as the issue states: ≈3M cells, 5M prices, 2M executions', () => {
    expect(workloadByName('sheets').sizes(1).cells).toBe(3_000_000);
    expect(workloadByName('market').sizes(1).prices).toBe(5_000_000);
    expect(workloadByName('etl').sizes(1).pipeline_executions).toBe(2_000_000);
  });

  it('generate the same parameters from the same seed', () => {
    const workload = workloadByName('sheets');
    const sizes = workload.sizes(0.01);
    const first = workload.queries.map((query) => query.params(new Rng(7), sizes));
    const second = workload.queries.map((query) => query.params(new Rng(7), sizes));
    expect(second).toEqual(first);
  });
});

describe.each(['sheets', 'market', 'etl'])('the %s workload on PGlite', (name) => {
  let driver: Driver;
  const workload = workloadByName(name);

  beforeAll(async () => {
    driver = await openDriver('memory:');
    await loadWorkload(driver, workload, 0.01, quietProgress);
  });

  afterAll(async () => {
    await driver.close();
  });

  it('loads the row counts of its scale', async () => {
    for (const [table, rows] of Object.entries(workload.sizes(0.01))) {
      const result = await driver.query<{ n: number }>(`select count(*)::int as n from ${table}`);
      expect(result.rows[0]!.n, table).toBe(rows);
    }
    expect(await isWorkloadLoaded(driver, workload, 0.01)).toBe(true);
    expect(await isWorkloadLoaded(driver, workload, 0.02)).toBe(false);
  });

  it('runs every query and loop with generated parameters', async () => {
    const rng = new Rng(1);
    const sizes = workload.sizes(0.01);
    for (const query of workload.queries) {
      await expect(driver.query(query.sql, query.params(rng, sizes)), query.name).resolves.toBeDefined();
    }
    for (const loop of workload.loops) {
      const iterations = loop.params(rng, sizes, loop.iterations);
      expect(iterations.length).toBeGreaterThan(1);
      for (const params of iterations) expect((await driver.query(loop.query, params)).rowCount).toBe(1);
    }
  });
});

describe('workload data on the real server', () => {
  let schema: TestSchema;
  let driver: Driver;
  let embedded: Driver;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_workload');
    driver = await openDriver(schema.url);
    embedded = await openDriver('memory:');
  });

  afterAll(async () => {
    await driver.close();
    await embedded.close();
    await schema.drop();
  });

  it('is deterministic: PostgreSQL 15 and the embedded database generate identical market data', async () => {
    const workload = workloadByName('market');
    await loadWorkload(driver, workload, 0.01, quietProgress);
    await loadWorkload(embedded, workload, 0.01, quietProgress);
    for (const table of workload.tables) {
      expect(await tableChecksum(driver, table), table).toBe(await tableChecksum(embedded, table));
    }
  });

  it('reports missing tables as "not loaded" instead of failing', async () => {
    expect(await isWorkloadLoaded(driver, workloadByName('etl'), 0.01)).toBe(false);
  });

  it('gives the sheets latest-cells query one row per (row, column) with distinct version timestamps', async () => {
    const workload = workloadByName('sheets');
    await loadWorkload(driver, workload, 0.01, quietProgress);
    const ties = await driver.query<{ n: number }>('select count(*)::int as n from (select row_id, versioned_column_id, updated_at from cells group by 1, 2, 3 having count(*) > 1) t');
    expect(ties.rows[0]!.n).toBe(0);
    const latest = await driver.query(workload.queries.find((query) => query.name === 'latest_cells')!.sql, [1, 1]);
    const rowsPerTab = workload.sizes(0.01).rows! / workload.sizes(0.01).tabs!;
    expect(latest.rowCount).toBe(rowsPerTab * 10);
  });
});
