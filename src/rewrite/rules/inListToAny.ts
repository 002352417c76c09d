import { bindingsOf, bodyOf, columnOf, constantValue, listOf, selectsOf, walkScope } from '../../analyze/ast.js';
import type { RewriteContext, RewriteOutcome, RewriteRule } from '../rule.js';

/** A literal IN-list at least this long is rewritten. */
const MIN_LITERALS = 3;

/** `format_type` names → the internal type names a cast can use. */
const ARRAY_ELEMENT_TYPES: Record<string, string> = {
  bigint: 'int8', integer: 'int4', smallint: 'int2', text: 'text', 'character varying': 'varchar', numeric: 'numeric', uuid: 'uuid',
  date: 'date', 'timestamp with time zone': 'timestamptz', 'timestamp without time zone': 'timestamp', boolean: 'bool', 'double precision': 'float8', real: 'float4',
};

/** `col IN (1, 2, 3)` → `col = ANY($n::type[])` with the list as one new array parameter. */
export const inListToAnyRule: RewriteRule = {
  id: 'in-list-to-any',
  description: 'literal IN-list → = ANY($n::type[]) with one array parameter',
  apply(context: RewriteContext): RewriteOutcome | null {
    const params = [...context.params];
    let rewritten = 0;
    for (const select of selectsOf(context.ast)) {
      const bindings = bindingsOf(listOf(select, 'fromClause'));
      for (const node of walkScope(select.whereClause)) {
        if (node.type !== 'A_Expr' || node.body.kind !== 'AEXPR_IN' || listOf(node.body, 'name').length !== 1) continue;
        if ((bodyOf(listOf(node.body, 'name')[0], 'String')?.sval as string) !== '=') continue;
        const items = listOf(bodyOf(node.body.rexpr, 'List'), 'items');
        const values = items.map(constantValue);
        if (values.length < MIN_LITERALS || values.some((value) => value === undefined)) continue;
        if (values.some((value) => value === null)) return { status: 'refused', reason: 'the IN-list holds NULL' };
        const column = columnOf(node.body.lexpr);
        const table = column ? (column.qualifier ? bindings.get(column.qualifier) : bindings.size === 1 ? [...bindings.values()][0] : undefined) : undefined;
        const declared = table && column ? context.catalog.column(table, column.column)?.type : undefined;
        const type = declared ? ARRAY_ELEMENT_TYPES[declared.split('(')[0]!.trim()] : undefined;
        if (!type) return { status: 'refused', reason: `the column type of the IN-list (${declared ?? 'unknown'}) is not one qopt binds as an array` };
        params.push(values);
        node.body.kind = 'AEXPR_OP_ANY';
        node.body.rexpr = {
          TypeCast: {
            arg: { ParamRef: { number: params.length } },
            typeName: { names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: type } }], typemod: -1, arrayBounds: [{ Integer: { ival: -1 } }] },
          },
        };
        rewritten += 1;
      }
    }
    return rewritten === 0 ? null : { status: 'rewritten', notes: [`${rewritten} literal IN-list(s) bound as one array parameter`], params };
  },
};
