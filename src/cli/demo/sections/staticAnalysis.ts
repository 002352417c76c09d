import { textTable } from '../../table.js';
import type { DemoSection } from '../section.js';

/** What qopt reads from each query's text alone: kind, tables, predicates, and whether it may be cached. */
export const staticAnalysisSection: DemoSection = {
  id: 'sql',
  title: 'What the SQL layer sees in each query',
  async render({ qo, workload }) {
    const statements = [...workload.queries.map((query) => ({ name: query.name, sql: query.sql })), ...workload.loops.map((loop) => ({ name: loop.name, sql: loop.query }))];
    const data = statements.map(({ name, sql }) => {
      const analysis = qo.analyze(sql);
      const statement = analysis.statements[0]!;
      return {
        name,
        fingerprint: analysis.fingerprint,
        kind: analysis.kind,
        tables: analysis.readTables,
        predicates: statement.predicates.map((p) => `${p.table}.${p.column} ${p.op}`),
        joins: statement.joins.length,
        windowFunctions: statement.windowFunctions,
        cacheable: analysis.cacheable,
        uncacheableReason: analysis.uncacheableReason,
      };
    });
    const rows = data.map((entry) => [
      entry.name,
      entry.kind,
      entry.tables.join(', '),
      String(entry.predicates.length),
      String(entry.joins),
      String(entry.windowFunctions),
      entry.cacheable ? 'yes' : `no (${entry.uncacheableReason})`,
    ]);
    const text = textTable(['query', 'kind', 'tables', 'predicates', 'joins', 'windows', 'cacheable'], rows, new Set([0, 1, 2, 6]));
    return { text, data };
  },
};
