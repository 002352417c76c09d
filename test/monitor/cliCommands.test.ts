import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { marketWorkload } from '../../bench/workloads/market.js';
import { loadWorkload, quietProgress } from '../../bench/workloads/workload.js';
import { runCli as run } from '../support/cliProgram.js';
import { openDriver } from '../../src/db/openDriver.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

describe('qopt top / slow / alerts', () => {
  let schema: TestSchema;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_monitor_cli');
    const driver = await openDriver(schema.url);
    try {
      await loadWorkload(driver, marketWorkload, 0.01, quietProgress);
    } finally {
      await driver.close();
    }
  });

  afterAll(async () => {
    await schema.drop();
  });

  const common = () => ['--database', schema.url, '--workload', 'market', '--scale', '0.01', '--iterations', '5', '--json'];

  it("top lists the workload's statements with qopt's percentiles", async () => {
    const report = JSON.parse(await run(['top', ...common()])) as { rows: Array<{ query: string; qopt: { calls: number; p99Ms: number } | null }> };
    const lookup = report.rows.find((row) => row.query.startsWith('SELECT * FROM symbols WHERE symbol = $1'));
    expect(lookup?.qopt?.calls).toBe(5);
    expect(lookup!.qopt!.p99Ms).toBeGreaterThan(0);
  });

  it("slow reports the workload's N+1 loop with its batched SQL", async () => {
    const report = JSON.parse(await run(['slow', ...common(), '--threshold', '100000'])) as { slow: unknown[]; nPlusOne: Array<{ batchedSql: string }> };
    expect(report.slow).toEqual([]);
    expect(report.nPlusOne.map((finding) => finding.batchedSql)).toEqual(['SELECT symbol, close FROM prices WHERE symbol = ANY($1) AND date = $2']);
  });

  it('alerts fires a rule given on the command line', async () => {
    const rule = JSON.stringify({ id: 'any-execution', metric_type: 'execution_time', threshold_value: 0, comparison_operator: '>', window_minutes: 5, min_occurrences: 1, severity: 'low' });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const report = JSON.parse(await run(['alerts', ...common(), '--rule', rule])) as { firing: Array<{ ruleId: string }> };
      expect(report.firing.map((alert) => alert.ruleId)).toContain('any-execution');
    } finally {
      stderr.mockRestore();
    }
  });
});
