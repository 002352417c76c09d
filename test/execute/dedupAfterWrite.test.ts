import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

// Found by the cache's consistency checker when the executor and the cache were merged: identical
// concurrent reads shared one execution even when a write committed between their starts.
describe('read deduplication and committed writes', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_dedup');
    qo = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 4 } });
    await qo.query('create table counters (id int primary key, v int not null)');
    await qo.query('insert into counters values (1, 1)');
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it('still shares one execution between identical reads with no write between them', async () => {
    const before = qo.executor.metrics().deduplicated;
    const sql = 'select v, pg_sleep(0.2) is null as slept from counters where id = $1';
    await Promise.all([qo.query(sql, [1]), qo.query(sql, [1])]);
    expect(qo.executor.metrics().deduplicated).toBe(before + 1);
  });

  it('does not hand a read that started after a committed write the rows of an earlier in-flight read', async () => {
    const sql = 'select v, pg_sleep(0.5) is null as slept from counters where id = $1';
    const early = qo.query<{ v: number }>(sql, [1]);
    await qo.query('update counters set v = v + 1 where id = 1');
    const late = qo.query<{ v: number }>(sql, [1]);
    const [earlyRows, lateRows] = await Promise.all([early, late]);
    expect(earlyRows.rows[0]!.v).toBe(1);
    expect(lateRows.rows[0]!.v).toBe(2);
  });
});
