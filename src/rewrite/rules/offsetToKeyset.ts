import { deparseSync } from 'pgsql-deparser';
import { andOf, bindingsOf, bodyOf, columnOf, conjuncts, listOf } from '../../analyze/ast.js';
import type { RewriteContext, RewriteOutcome, RewriteRule } from '../rule.js';

/** `ORDER BY k LIMIT n OFFSET m` → `WHERE (k) > ($cursor) ORDER BY k LIMIT n`: a suggestion, since the caller must pass the last row's keys. */
export const offsetToKeysetRule: RewriteRule = {
  id: 'offset-to-keyset',
  description: 'OFFSET pagination → keyset pagination (a suggestion: the caller passes the last row of the previous page)',
  apply(context: RewriteContext): RewriteOutcome | null {
    const select = bodyOf(context.ast, 'SelectStmt');
    if (!select?.limitOffset) return null;
    const keys = listOf(select, 'sortClause').map((sort) => ({ column: columnOf(bodyOf(sort, 'SortBy')?.node), dir: String(bodyOf(sort, 'SortBy')?.sortby_dir) }));
    if (keys.length === 0 || keys.some((key) => !key.column)) return { status: 'refused', reason: 'keyset pagination needs ORDER BY plain columns' };
    if (new Set(keys.map((key) => key.dir === 'SORTBY_DESC')).size > 1) return { status: 'refused', reason: 'mixed ASC/DESC keys need an expanded OR condition; not suggested' };
    const bindings = bindingsOf(listOf(select, 'fromClause'));
    const table = bindings.size === 1 ? [...bindings.values()][0] : undefined;
    const names = keys.map((key) => key.column!.column);
    const notes: string[] = [];
    if (!table || !context.catalog.coversUniqueKey(table, names) || names.some((name) => !context.catalog.isNotNull(table, name))) {
      const primary = table ? context.catalog.table(table)?.primaryKey : null;
      if (!primary) return { status: 'refused', reason: 'the ORDER BY is not a unique NOT NULL key and there is no primary key to add' };
      notes.push(`added the primary key ${primary.join(', ')} to ORDER BY so the cursor is unique`);
      for (const column of primary) if (!names.includes(column)) keys.push({ column: { qualifier: keys[0]!.column!.qualifier, column }, dir: keys[0]!.dir });
    }
    const first = context.params.length + 1;
    const row = (items: unknown[]) => ({ RowExpr: { args: items, row_format: 'COERCE_IMPLICIT_CAST' } });
    const comparison = {
      A_Expr: {
        kind: 'AEXPR_OP',
        name: [{ String: { sval: keys[0]!.dir === 'SORTBY_DESC' ? '<' : '>' } }],
        lexpr: row(keys.map((key) => ({ ColumnRef: { fields: [...(key.column!.qualifier ? [{ String: { sval: key.column!.qualifier } }] : []), { String: { sval: key.column!.column } }] } }))),
        rexpr: row(keys.map((_, index) => ({ ParamRef: { number: first + index } }))),
      },
    };
    select.whereClause = andOf([...conjuncts(select.whereClause), comparison]);
    select.sortClause = keys.map((key) => ({ SortBy: { node: { ColumnRef: { fields: [...(key.column!.qualifier ? [{ String: { sval: key.column!.qualifier } }] : []), { String: { sval: key.column!.column } }] } }, sortby_dir: key.dir, sortby_nulls: 'SORTBY_NULLS_DEFAULT' } }));
    delete select.limitOffset;
    notes.push(`cursor: the last row's ${keys.map((key) => key.column!.column).join(', ')} as $${first}${keys.length > 1 ? `…$${first + keys.length - 1}` : ''}; the first page omits the condition`);
    return { status: 'suggestion', sql: deparseSync(context.ast, { pretty: false }), notes };
  },
};
