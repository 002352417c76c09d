import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adviseRecordedWorkload, refreshViewsOnWrites } from '../../src/advise/forOptimizer.js';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import { MaterializedViewManager } from '../../src/views/materializedViews.js';
import { recommendViews } from '../../src/views/recommendViews.js';
import { query } from './support.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

describe('the advisor and views plugged into the Optimizer (real PostgreSQL)', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_advise_qo');
    qo = await createOptimizer({ database: { url: schema.url } });
    await qo.driver.exec(`
      CREATE TABLE tickets (id bigint PRIMARY KEY, project_id int NOT NULL, state text NOT NULL, opened_at timestamptz NOT NULL);
      INSERT INTO tickets SELECT i, i % 2000, (ARRAY['open', 'closed'])[i % 2 + 1], timestamptz '2024-01-01' + i * interval '1 minute'
      FROM generate_series(1, 100000) AS i;
      ANALYZE tickets;`);
  });

  afterAll(async () => {
    await qo?.close();
    await schema?.drop();
  });

  it("advises on the optimizer's recorded workload (generic plans, weighted by calls × time)", async () => {
    for (let project = 1; project <= 20; project += 1) {
      await qo.query('SELECT id, opened_at FROM tickets WHERE project_id = $1 ORDER BY opened_at DESC LIMIT 10', [project]);
    }
    const report = await adviseRecordedWorkload(qo, { installHypopg: true });
    expect(report.weightUnit).toBe('ms');
    expect(report.recommendations[0]!.candidate.keys.map((key) => `${key.text}${key.descending ? ' DESC' : ''}`)).toEqual(['project_id', 'opened_at DESC']);
  });

  it('plans a recorded query generically when the sample given for it does not bind its normalized text, instead of skipping it', async () => {
    const sql = "SELECT id FROM tickets WHERE project_id = $1 AND state = 'open' LIMIT 5";
    for (let project = 1; project <= 5; project += 1) await qo.query(sql, [project]);
    const fingerprint = qo.sql.analyze(sql).fingerprint;
    // The sample is the original statement's ($1 only); the recorder's text has 'open' and 5 as parameters too.
    const report = await adviseRecordedWorkload(qo, { installHypopg: true, statistics: false }, new Map([[fingerprint, [[7]]]]));
    expect(report.skipped).toEqual([]);
    expect(report.queries.map((prediction) => prediction.fingerprint)).toContain(fingerprint);
  });

  it("marks a view stale when the optimizer reports a committed write to its table", async () => {
    const [spec] = recommendViews([query('SELECT state, count(*) AS n FROM tickets GROUP BY state', 1, 1)], { maxStalenessMs: 0 });
    const manager = new MaterializedViewManager(qo.driver, { refreshAfterWritesMs: null });
    const unsubscribe = refreshViewsOnWrites(qo, manager);
    try {
      await manager.create(spec!);
      expect((await manager.read(spec!.name)).source).toBe('view');
      await qo.query("INSERT INTO tickets VALUES (100001, 1, 'open', now())");
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await manager.read(spec!.name)).source).toBe('base');
      await manager.refresh(spec!.name);
      expect((await manager.read(spec!.name)).source).toBe('view');
    } finally {
      unsubscribe();
      manager.close();
    }
  });
});
