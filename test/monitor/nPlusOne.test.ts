import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marketWorkload } from '../../bench/workloads/market.js';
import { loadWorkload, quietProgress, Rng } from '../../bench/workloads/workload.js';
import { analyzeSql } from '../../src/sql/analyze.js';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import { batchPlan, NPlusOneDetector } from '../../src/monitor/nPlusOne.js';
import type { TableLoader } from '../../src/execute/tableLoader.js';
import type { QueryObservation } from '../../src/monitor/recorder.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

describe('N+1 detection', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_monitor_n1');
    qo = await createOptimizer({ database: { url: schema.url }, monitor: { nPlusOneThreshold: 10 } });
    await loadWorkload(qo.driver, marketWorkload, 0.01, quietProgress);
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it("finds the market workload's closing-price loop and gives the batched SQL that returns the same rows", async () => {
    const loop = marketWorkload.loops[0]!;
    const sizes = marketWorkload.sizes(0.01);
    const iterations = loop.params(new Rng(3), sizes, loop.iterations);
    const perIteration = await qo.withContext('GET /closing-prices', async () => {
      const rows: unknown[][] = [];
      for (const params of iterations) rows.push((await qo.query(loop.query, params)).rows);
      return rows;
    });
    const looped = perIteration.flat();
    const findings = qo.monitor.nPlusOne.list();
    expect(findings).toHaveLength(1);
    const finding = findings[0]!;
    expect(finding.source).toBe('context');
    expect(finding.where).toBe('GET /closing-prices');
    expect(finding.keyColumn).toBe('symbol');
    expect(finding.keyParameter).toBe(1);
    expect(finding.batchedSql).toBe('SELECT symbol, close FROM prices WHERE symbol = ANY($1) AND date = $2');
    expect(finding.loaderCall).toContain('qo.loader(');
    expect(finding.orderRestoringMap).toContain('keys.map');

    // The batched statement really replaces the loop: same rows, one round trip.
    const keys = iterations.map((params) => params[0]);
    const batched = await qo.query<{ symbol: string }>(finding.batchedSql!, [keys, iterations[0]![1]]);
    const sortRows = (rows: unknown[]) => rows.map((row) => JSON.stringify(row)).sort();
    expect(sortRows(batched.rows)).toEqual(sortRows(looped));

    // The loader call runs as printed (table, key column, the shared date as `where`) and gives each key its rows.
    expect(finding.loaderUnavailableReason).toBeNull();
    const loader = new Function('qo', `${finding.loaderCall!}\nreturn loader;`)(qo) as TableLoader;
    const loaded = await Promise.all(keys.map((key) => loader.load(key)));
    expect(loaded.map(sortRows)).toEqual(perIteration.map(sortRows));

    // The order-restoring map is JavaScript that gives the same rows per key, in the callers' order.
    const rowsByKey = new Function(`${finding.orderRestoringMap!}\nreturn rowsByKey;`)() as (qo: Optimizer, keys: unknown[]) => Promise<unknown[][]>;
    expect((await rowsByKey(qo, keys)).map(sortRows)).toEqual(perIteration.map(sortRows));
  });

  it('says qo.loader does not apply to a loop it cannot express, and still gives a working order-restoring map', async () => {
    const sql = 'SELECT symbol, date, close FROM prices WHERE symbol = $1 ORDER BY date DESC';
    const keys = ['S00001', 'S00002', 'S00003'];
    const plan = batchPlan(sql, keys.map((key) => [key]), analyzeSql);
    expect(plan.batchedSql).toBe('SELECT symbol, date, close FROM prices WHERE symbol = ANY($1) ORDER BY date DESC');
    expect(plan.loaderUnavailableReason).toBe('the query has ORDER BY, which qo.loader does not run');
    expect(plan.loaderCall).toBe('// qo.loader does not apply: the query has ORDER BY, which qo.loader does not run; run the batched SQL with rowsByKey');
    const rowsByKey = new Function(`${plan.orderRestoringMap!}\nreturn rowsByKey;`)() as (qo: Optimizer, keys: unknown[]) => Promise<unknown[][]>;
    const looped = [];
    for (const key of keys) looped.push((await qo.query(sql, [key])).rows);
    expect(await rowsByKey(qo, keys)).toEqual(looped);
  });

  it('gives no batched SQL for a loop whose LIMIT or aggregate applies per key', () => {
    const samples = [['S00001'], ['S00002']];
    expect(batchPlan('SELECT close FROM prices WHERE symbol = $1 ORDER BY date DESC LIMIT 1', samples, analyzeSql).batchedSql).toBeNull();
    expect(batchPlan('SELECT max(close) FROM prices WHERE symbol = $1', samples, analyzeSql).batchedSql).toBeNull();
  });

  it('puts the shared values of other parameters and constants into the loader call as literals', () => {
    const plan = batchPlan("SELECT * FROM public.prices WHERE symbol = $1 AND date = $2 AND close = 3", [['A', 10n], ['B', 10n]], analyzeSql);
    expect(plan.loaderCall!.split('\n')[0]).toBe('const loader = qo.loader("public.prices", "symbol", { where: { "date": 10n, "close": 3 } });');
    expect(() => new Function(plan.orderRestoringMap!)).not.toThrow();
    expect(plan.orderRestoringMap).toContain('[keys, 10n]');
  });

  it('counts the pattern again for a second request instead of adding a second finding', async () => {
    const loop = marketWorkload.loops[0]!;
    const iterations = loop.params(new Rng(4), marketWorkload.sizes(0.01), loop.iterations);
    await qo.withContext('GET /closing-prices', async () => {
      for (const params of iterations) await qo.query(loop.query, params);
    });
    const findings = qo.monitor.nPlusOne.list();
    expect(findings).toHaveLength(1);
    expect(findings[0]!.occurrences).toBe(2);
  });

  it('finds nothing in five benign loops: different shapes, a batch under the threshold, one statement per request, identical parameters, writes', async () => {
    const before = qo.monitor.nPlusOne.list().length;
    await qo.withContext('different fingerprints', async () => {
      await qo.query('SELECT count(*) FROM symbols');
      await qo.query('SELECT count(*) FROM prices');
      await qo.query('SELECT sector, count(*) FROM symbols GROUP BY sector');
      await qo.query('SELECT max(date) FROM prices');
      await qo.query('SELECT * FROM symbols WHERE id = $1', [1]);
      await qo.query('SELECT * FROM prices WHERE id = $1', [1]);
      await qo.query('SELECT name FROM symbols WHERE sector = $1', ['Technology']);
      await qo.query('SELECT min(close) FROM prices WHERE symbol = $1', ['S00001']);
      await qo.query('SELECT max(close) FROM prices WHERE symbol = $1', ['S00001']);
      await qo.query('SELECT avg(close) FROM prices WHERE symbol = $1', ['S00001']);
      await qo.query('SELECT count(*) FROM prices WHERE symbol = $1', ['S00001']);
    });
    await qo.withContext('batch job under the threshold', async () => {
      for (let id = 1; id <= 9; id += 1) await qo.query('SELECT name FROM symbols WHERE id = $1', [id]);
    });
    for (let request = 1; request <= 20; request += 1) {
      await qo.withContext('GET /symbol/:id', () => qo.query('SELECT name, sector FROM symbols WHERE id = $1', [request]));
    }
    await qo.withContext('polling the same row', async () => {
      for (let i = 0; i < 20; i += 1) await qo.query('SELECT market_cap FROM symbols WHERE id = $1', [1]);
    });
    await qo.withContext('writes in a loop', async () => {
      for (let id = 1; id <= 20; id += 1) await qo.query('UPDATE symbols SET market_cap = market_cap WHERE id = $1', [id]);
    });
    expect(qo.monitor.nPlusOne.list()).toHaveLength(before);
  });

  it('finds a burst on one connection without a request context, and not the same statements spread out in time', () => {
    const detector = new NPlusOneDetector({ threshold: 10, burstGapMs: 50, analyze: analyzeSql });
    const observation = (at: number, id: number, connection: number): QueryObservation => ({
      fingerprint: analyzeSql('SELECT name FROM symbols WHERE id = $1').fingerprint,
      normalized: 'SELECT name FROM symbols WHERE id = $1',
      sql: 'SELECT name FROM symbols WHERE id = $1',
      params: [id],
      durationMs: 0.3,
      rows: 1,
      failed: false,
      operation: 'SELECT',
      at,
      connection,
    });
    for (let id = 0; id < 12; id += 1) detector.observe(observation(1000 + id * 200, id, 1), undefined);
    expect(detector.list()).toHaveLength(0);
    for (let id = 0; id < 12; id += 1) detector.observe(observation(10_000 + id, id, 2), undefined);
    const findings = detector.list();
    expect(findings).toHaveLength(1);
    expect(findings[0]!.source).toBe('burst');
    expect(findings[0]!.where).toBe('connection 2');
    expect(findings[0]!.batchedSql).toBe('SELECT id, name FROM symbols WHERE id = ANY($1)');
  });
});
