import { Rng } from '../../../../bench/workloads/workload.js';
import type { WorkloadLoop } from '../../../../bench/workloads/workload.js';
import { ms, textTable } from '../../table.js';
import type { DemoSection } from '../section.js';

interface LoopShape {
  table: string;
  columns: string[];
  keyColumn: string;
  /** The other `column = $n` conditions, by parameter position. */
  shared: Array<{ column: string; position: number }>;
}

// The seed loops are `SELECT cols FROM table WHERE key = $1 [AND col = $n …]`: read that shape from the text.
function loopShape(loop: WorkloadLoop): LoopShape | undefined {
  const match = /^SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+(.+)$/is.exec(loop.query.trim());
  if (!match) return undefined;
  const conditions = [...match[3]!.matchAll(/(\w+)\s*=\s*\$(\d+)/g)].map((found) => ({ column: found[1]!, position: Number(found[2]) }));
  const key = conditions.find((condition) => condition.position === 1);
  if (!key) return undefined;
  const columns = match[1]!.split(',').map((column) => column.trim());
  if (columns.some((column) => !/^\w+$/.test(column))) return undefined;
  return { table: match[2]!, columns, keyColumn: key.column, shared: conditions.filter((condition) => condition !== key) };
}

/** The workload's N+1 loop run as written, then batched through `qo.loader` (one `= ANY` query). */
export const executorBatchingSection: DemoSection = {
  id: 'executor',
  title: 'Executor: the N+1 loop, batched',
  async render({ qo, workload, sizes }) {
    const rows: string[][] = [];
    const data: unknown[] = [];
    for (const loop of workload.loops) {
      const shape = loopShape(loop);
      if (!shape) continue;
      const params = loop.params(new Rng(11), sizes, loop.iterations);
      const before = qo.executor.metrics().completed;
      let started = performance.now();
      let naiveRows = 0;
      for (const values of params) naiveRows += (await qo.query(loop.query, values)).rowCount;
      const naiveMs = performance.now() - started;
      const naiveQueries = qo.executor.metrics().completed - before;
      const where = Object.fromEntries(shape.shared.map((condition) => [condition.column, params[0]![condition.position - 1]]));
      const loader = qo.loader(shape.table, shape.keyColumn, { columns: shape.columns, where });
      started = performance.now();
      const middle = qo.executor.metrics().completed;
      const batched = await Promise.all(params.map((values) => loader.load(values[0])));
      const batchedMs = performance.now() - started;
      const batchedQueries = qo.executor.metrics().completed - middle;
      const batchedRows = batched.reduce((sum, found) => sum + found.length, 0);
      rows.push([loop.name, String(params.length), `${naiveQueries} → ${batchedQueries}`, ms(naiveMs), ms(batchedMs), `${(naiveMs / batchedMs).toFixed(1)}×`, naiveRows === batchedRows ? 'yes' : 'NO']);
      data.push({ loop: loop.name, iterations: params.length, naiveQueries, batchedQueries, naiveMs, batchedMs, sameRows: naiveRows === batchedRows });
    }
    if (rows.length === 0) return null;
    const metrics = qo.executor.metrics();
    const text = [
      textTable(['loop', 'items', 'queries', 'N+1 ms', 'batched ms', 'speed-up', 'same rows'], rows, new Set([0])),
      `executor: ${metrics.completed} queries, ${metrics.retries} retries, ${metrics.deduplicated} deduplicated, slot wait p99 ${metrics.waitMs.p99.toFixed(2)} ms, breaker ${metrics.targets.map((t) => `${t.role} ${t.breaker}`).join(', ')}`,
    ].join('\n');
    return { text, data: { loops: data, metrics } };
  },
};
