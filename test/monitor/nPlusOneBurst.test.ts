import { afterEach, describe, expect, it, vi } from 'vitest';
import { NPlusOneDetector } from '../../src/monitor/nPlusOne.js';
import type { QueryObservation } from '../../src/monitor/recorder.js';
import { analyzeSql } from '../../src/sql/analyze.js';

function observation(sql: string, params: readonly unknown[], at: number): QueryObservation {
  const analysis = analyzeSql(sql);
  return { fingerprint: analysis.fingerprint, normalized: analysis.normalized, durationMs: 1, rows: 1, failed: false, at, sql, params, readOnly: true, connection: 7 };
}

describe('N+1 bursts on one connection', () => {
  afterEach(() => vi.restoreAllMocks());

  it('finds a loop with its key inlined as a literal, telling executions apart by their text', () => {
    const detector = new NPlusOneDetector({ threshold: 5, analyze: analyzeSql });
    for (let id = 1; id <= 5; id += 1) detector.observe(observation(`SELECT v FROM items WHERE id = ${id}`, [], 1000 + id), undefined);
    expect(detector.list()).toHaveLength(1);
    expect(detector.list()[0]).toMatchObject({ source: 'burst', where: 'connection 7', distinctParams: 5 });
  });

  it('builds no key string for a parameterless statement (the burst check runs on every query with a connection)', () => {
    const detector = new NPlusOneDetector({ threshold: 5, analyze: analyzeSql });
    const repeated = observation('SELECT 1 AS one', [], 1000);
    const stringify = vi.spyOn(JSON, 'stringify');
    for (let index = 0; index < 100; index += 1) detector.observe(repeated, undefined);
    expect(stringify).not.toHaveBeenCalled();
    expect(detector.list()).toHaveLength(0);
  });
});
