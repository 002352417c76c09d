import { ms, textTable } from '../../table.js';
import type { DemoSection } from '../section.js';

/** Queries by total time with real percentiles (p50 to p99.9), slow executions and N+1 findings, from the monitor. */
export const queryTableSection: DemoSection = {
  id: 'queries',
  title: 'Queries by total time',
  async render({ qo, queryNames }) {
    const stats = qo.recorder.snapshot();
    if (stats.length === 0) return null;
    const rows = stats.map((entry, index) => [
      String(index + 1),
      queryNames.get(entry.fingerprint) ?? entry.normalized.slice(0, 40),
      String(entry.calls),
      ms(entry.totalMs),
      ms(entry.p50Ms),
      ms(entry.p95Ms),
      ms(entry.p99Ms),
      ms(entry.maxMs),
      String(entry.slow),
      String(Math.round(entry.rows / Math.max(1, entry.calls))),
    ]);
    const lines = [textTable(['#', 'query', 'calls', 'total ms', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'slow', 'rows/call'], rows, new Set([1]))];
    const findings = qo.monitor.nPlusOne.list();
    for (const finding of findings) lines.push('', finding.description, ...(finding.batchedSql ? [`  batched: ${finding.batchedSql}`] : []));
    const data = stats.map((entry) => ({ name: queryNames.get(entry.fingerprint) ?? null, ...entry }));
    return { text: lines.join('\n'), data };
  },
};
