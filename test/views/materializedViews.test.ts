import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sheetsWorkload } from '../../bench/workloads/sheets.js';
import { loadWorkload, quietProgress } from '../../bench/workloads/workload.js';
import type { Driver } from '../../src/db/driver.js';
import { openDriver } from '../../src/db/openDriver.js';
import { MaterializedViewManager } from '../../src/views/materializedViews.js';
import { recommendViews } from '../../src/views/recommendViews.js';
import { query } from '../advise/support.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

const LATEST = sheetsWorkload.queries.find((entry) => entry.name === 'latest_cells')!.sql;
const AGGREGATE = 'SELECT tab_id, count(*) AS cells FROM cells GROUP BY tab_id ORDER BY tab_id';

function sorted(rows: Array<Record<string, unknown>>): string[] {
  return rows.map((row) => JSON.stringify(row)).sort();
}

describe('materialized views for hot queries (real PostgreSQL)', () => {
  let schema: TestSchema;
  let driver: Driver;
  let clock = 0;
  let manager: MaterializedViewManager;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_views');
    driver = await openDriver(schema.url);
    await loadWorkload(driver, sheetsWorkload, 0.02, quietProgress);
    manager = new MaterializedViewManager(driver, { refreshAfterWritesMs: null, now: () => clock });
  });

  afterAll(async () => {
    manager?.close();
    await driver?.close();
    await schema?.drop();
  });

  it('recommends a latest-cells view keyed by the filter and partition columns, and an aggregate view', () => {
    const specs = recommendViews([query(LATEST, 100, 1000), query(AGGREGATE, 10, 100), query('SELECT * FROM tabs WHERE id = $1', 100, 10)], {
      primaryKeys: new Map([['cells', ['id']]]),
    });
    expect(specs).toHaveLength(2);
    expect(specs[0]!.uniqueKey).toEqual(['sheet_id', 'tab_id', 'row_id', 'versioned_column_id']);
    expect(specs[0]!.definition).toContain('DISTINCT ON');
    expect(specs[0]!.viewSql).toMatch(/WHERE sheet_id = \$1 AND tab_id = \$2$/);
    expect(specs[1]!.uniqueKey).toEqual(['tab_id']);
  });

  it('answers the latest-cells query from the view with the same rows as the base query', async () => {
    const [spec] = recommendViews([query(LATEST, 100, 1000)], { primaryKeys: new Map([['cells', ['id']]]) });
    await manager.create(spec!);
    for (const params of [[1, 1], [2, 4], [20, 40]]) {
      const base = await driver.query(LATEST, params);
      const viewed = await manager.read(spec!.name, params);
      expect(viewed.source).toBe('view');
      expect(base.rows.length).toBeGreaterThan(0);
      expect(sorted(viewed.rows)).toEqual(sorted(base.rows));
    }
  });

  it('falls back to the base query past the freshness bound and returns to the view after a concurrent refresh', async () => {
    const [spec] = recommendViews([query(AGGREGATE, 10, 100)], { maxStalenessMs: 1000 });
    await manager.create(spec!);
    await driver.exec(`INSERT INTO cells (id, sheet_id, tab_id, row_id, versioned_column_id, updated_at) VALUES (99999999, 1, 1, 1, 99, now())`);
    clock = 10_000;
    manager.tablesWritten(['cells']);
    clock = 10_500;
    const withinBound = await manager.read(spec!.name);
    expect(withinBound.source).toBe('view');
    clock = 11_001;
    const pastBound = await manager.read<{ tab_id: string; cells: string }>(spec!.name);
    expect(pastBound.source).toBe('base');
    expect(pastBound.rows.find((row) => Number(row.tab_id) === 1)!.cells).toBe(String(Number(withinBound.rows.find((row) => Number(row.tab_id) === 1)!.cells) + 1));
    await manager.refresh(spec!.name);
    const refreshed = await manager.read(spec!.name);
    expect(refreshed.source).toBe('view');
    expect(sorted(refreshed.rows)).toEqual(sorted(pastBound.rows));
    expect(manager.counts.refreshes).toBe(1);
  });
});
