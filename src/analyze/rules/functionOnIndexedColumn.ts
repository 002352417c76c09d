import { bindingsOf, columnOf, functionName, listOf, selectsOf, walkScope } from '../ast.js';
import type { AnalyzerRule, RuleMatch } from '../rule.js';

/** The column a function call or cast wraps directly, if any. */
function wrappedColumn(node: { type: string; body: Record<string, unknown> }): { qualifier: string | null; column: string; wrapper: string } | undefined {
  if (node.type === 'TypeCast') {
    const column = columnOf(node.body.arg);
    return column ? { ...column, wrapper: 'a cast' } : undefined;
  }
  if (node.type === 'FuncCall') {
    for (const arg of listOf(node.body, 'args')) {
      const column = columnOf(arg);
      if (column) return { ...column, wrapper: `${functionName({ FuncCall: node.body })}()` };
    }
  }
  return undefined;
}

/** `WHERE lower(email) = …` or `WHERE created_at::date = …` on a column that has a plain index. */
export const functionOnIndexedColumnRule: AnalyzerRule = {
  id: 'function-on-indexed-column',
  severity: 'medium',
  description: 'function or cast on an indexed column in WHERE',
  explanation: 'An index on the column cannot serve a predicate on an expression of it: the planner falls back to scanning every row.',
  fix: 'Compare the bare column (move the function to the constant side, e.g. a range for dates), or index the expression.',
  match({ ast, catalog }) {
    const matches: RuleMatch[] = [];
    for (const select of selectsOf(ast)) {
      const bindings = bindingsOf(listOf(select, 'fromClause'));
      for (const node of walkScope(select.whereClause)) {
        const wrapped = wrappedColumn(node);
        if (!wrapped) continue;
        const table = wrapped.qualifier ? bindings.get(wrapped.qualifier) : [...bindings.values()].find((name) => name && catalog.column(name, wrapped.column));
        if (!table || !catalog.isIndexLeadingColumn(table, wrapped.column)) continue;
        matches.push({ detail: `${wrapped.wrapper} on ${table}.${wrapped.column}, which is indexed` });
      }
    }
    return matches;
  },
};
