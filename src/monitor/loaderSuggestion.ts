import type { StatementAnalysis } from '../sql/analyze.js';
import type { AstNode } from '../sql/parser.js';

/** Whether `qo.loader(table, keyColumn, { columns, where })` can replace a loop's statement, and the call if so. */
export type LoaderSuggestion = { ok: true; call: string } | { ok: false; reason: string };

// Clauses qo.loader cannot express: it runs `SELECT columns FROM table WHERE key = ANY($1) AND col = value …`.
const CLAUSES_THE_LOADER_LACKS: Record<string, string> = {
  distinctClause: 'DISTINCT',
  groupClause: 'GROUP BY',
  havingClause: 'HAVING',
  sortClause: 'ORDER BY',
  limitCount: 'LIMIT',
  limitOffset: 'OFFSET',
  withClause: 'WITH',
  windowClause: 'WINDOW',
  lockingClause: 'a locking clause',
  intoClause: 'INTO',
  valuesLists: 'VALUES',
};

/**
 * A JavaScript literal for a parameter value as node-postgres would send it, or null for a value
 * that has none (a function, a symbol, a cycle).
 */
export function javascriptLiteral(value: unknown): string | null {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : `new Date(${JSON.stringify(value.toISOString())})`;
  if (typeof value === 'function' || typeof value === 'symbol' || Buffer.isBuffer(value)) return null;
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

function child(node: unknown, type: string): AstNode | undefined {
  return typeof node === 'object' && node !== null ? ((node as AstNode)[type] as AstNode | undefined) : undefined;
}

/** The column name of a ColumnRef (`c` or `t.c`), '*' for `*` / `t.*`, or null. */
function columnName(node: unknown): string | null {
  const fields = child(node, 'ColumnRef')?.fields as unknown[] | undefined;
  const last = fields?.[fields.length - 1];
  if (child(last, 'A_Star')) return '*';
  const name = child(last, 'String')?.sval;
  return typeof name === 'string' ? name : null;
}

/** The selected columns, null for `*`, or a reason when the select list is more than plain columns. */
function selectedColumns(targetList: unknown[]): { ok: true; columns: string[] | null } | { ok: false; reason: string } {
  const columns: string[] = [];
  for (const target of targetList) {
    const resTarget = child(target, 'ResTarget');
    const name = columnName(resTarget?.val);
    if (name === null || resTarget?.name !== undefined) return { ok: false, reason: 'its select list has expressions or aliases (qo.loader selects plain columns)' };
    columns.push(name);
  }
  if (columns.includes('*')) return columns.length === 1 ? { ok: true, columns: null } : { ok: false, reason: 'its select list mixes * with columns' };
  return { ok: true, columns };
}

/** The conjuncts of a WHERE: the arguments of a top-level AND, or the one condition. */
function conjuncts(where: unknown): unknown[] {
  const bool = child(where, 'BoolExpr');
  return bool?.boolop === 'AND_EXPR' ? (bool.args as unknown[]) : [where];
}

/** The column of `column = value` (value a parameter or a constant, cast or not), else null. */
function equalityColumn(condition: unknown): string | null {
  const expression = child(condition, 'A_Expr');
  const operator = child((expression?.name as unknown[] | undefined)?.[0], 'String')?.sval;
  if (!expression || expression.kind !== 'AEXPR_OP' || operator !== '=') return null;
  const value = child(expression.rexpr, 'TypeCast')?.arg ?? expression.rexpr;
  if (!child(value, 'ParamRef') && !child(value, 'A_Const')) return null;
  const name = columnName(expression.lexpr);
  return name === '*' ? null : name;
}

/**
 * The `qo.loader` call that replaces a loop over `statement` whose `$key` varies, with the other
 * parameters at their values in `sharedParams`: only a plain single-table SELECT whose WHERE is an
 * AND of `column = value` fits the loader; anything else gets the reason instead of code that
 * would return other rows.
 */
export function loaderSuggestion(statement: StatementAnalysis, key: number, sharedParams: readonly unknown[]): LoaderSuggestion {
  const select = child(statement.ast, 'SelectStmt');
  if (!select || select.op !== 'SETOP_NONE') return { ok: false, reason: 'it is not a plain SELECT' };
  const clause = Object.keys(CLAUSES_THE_LOADER_LACKS).find((name) => select[name] !== undefined);
  if (clause) return { ok: false, reason: `the query has ${CLAUSES_THE_LOADER_LACKS[clause]}, which qo.loader does not run` };
  const from = select.fromClause as unknown[] | undefined;
  const range = from?.length === 1 ? child(from[0], 'RangeVar') : undefined;
  if (!range || typeof range.relname !== 'string') return { ok: false, reason: 'it reads more than one table (qo.loader reads one)' };
  const table = typeof range.schemaname === 'string' ? `${range.schemaname}.${range.relname}` : range.relname;
  const selected = selectedColumns((select.targetList as unknown[] | undefined) ?? []);
  if (!selected.ok) return selected;

  const conditions = conjuncts(select.whereClause).map(equalityColumn);
  const equalities = statement.predicates.filter((predicate) => predicate.op === '=');
  if (conditions.some((column) => column === null) || conditions.length !== equalities.length) {
    return { ok: false, reason: 'its WHERE has conditions other than column = value (qo.loader adds equalities only)' };
  }
  const keyPredicate = equalities.find((predicate) => predicate.value.kind === 'parameter' && predicate.value.index === key);
  if (!keyPredicate) return { ok: false, reason: `$${key} is not compared with = to a column` };
  const where: string[] = [];
  const seen = new Set<string>([keyPredicate.column]);
  for (const predicate of equalities) {
    if (predicate === keyPredicate) continue;
    if (seen.has(predicate.column)) return { ok: false, reason: `it compares ${predicate.column} twice` };
    seen.add(predicate.column);
    const value = predicate.value;
    const literal = value.kind === 'parameter' ? javascriptLiteral(sharedParams[value.index - 1]) : value.kind === 'constant' ? javascriptLiteral(value.value) : null;
    if (literal === null) return { ok: false, reason: `the value compared with ${predicate.column} has no JavaScript literal` };
    where.push(`${JSON.stringify(predicate.column)}: ${literal}`);
  }
  const options = [
    ...(selected.columns ? [`columns: ${JSON.stringify(selected.columns)}`] : []),
    ...(where.length > 0 ? [`where: { ${where.join(', ')} }`] : []),
  ];
  const call = `const loader = qo.loader(${JSON.stringify(table)}, ${JSON.stringify(keyPredicate.column)}${options.length > 0 ? `, { ${options.join(', ')} }` : ''});`;
  return { ok: true, call: `${call}\n// in each caller of the loop: const rows = await loader.load(key); — the loads of one tick run as one query` };
}
