import type { AstNode } from '../sql/parser.js';

/** A parse-tree node seen by a walk: its type (`SelectStmt`) and its body. */
export interface VisitedNode {
  type: string;
  body: AstNode;
}

/** The single key of a `{ Type: body }` node, or undefined for plain objects and arrays. */
export function typeOf(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
  let only: string | undefined;
  for (const key in node) {
    if (only !== undefined) return undefined;
    only = key;
  }
  if (only === undefined) return undefined;
  const first = only.charCodeAt(0);
  return first >= 65 && first <= 90 ? only : undefined;
}

/** The body of a node of the given type, or undefined. */
export function bodyOf(node: unknown, type: string): AstNode | undefined {
  return typeOf(node) === type ? ((node as AstNode)[type] as AstNode) : undefined;
}

const SCOPE_BOUNDARIES = new Set(['SelectStmt', 'SubLink', 'RangeSubselect', 'CommonTableExpr']);

function collect(root: unknown, into: VisitedNode[], stopAtScopes: boolean): void {
  if (typeof root !== 'object' || root === null) return;
  if (Array.isArray(root)) {
    for (const item of root) collect(item, into, stopAtScopes);
    return;
  }
  const type = typeOf(root);
  if (type) {
    const body = (root as AstNode)[type] as AstNode;
    into.push({ type, body });
    if (stopAtScopes && SCOPE_BOUNDARIES.has(type)) return;
    for (const key in body) collect(body[key], into, stopAtScopes);
    return;
  }
  for (const key in root) collect((root as AstNode)[key], into, stopAtScopes);
}

// Parse trees of memoized analyses are frozen and shared: their node lists are computed once.
const walked = new WeakMap<object, VisitedNode[]>();

/** Every typed node under `root` (root included), depth-first, parents first. */
export function walk(root: unknown): VisitedNode[] {
  if (typeof root !== 'object' || root === null) return [];
  const known = walked.get(root);
  if (known) return known;
  const nodes: VisitedNode[] = [];
  collect(root, nodes, false);
  if (Object.isFrozen(root)) walked.set(root, nodes);
  return nodes;
}

/** Typed nodes under `root` without entering nested SELECTs (a subquery is its own scope). */
export function walkScope(root: unknown): VisitedNode[] {
  const nodes: VisitedNode[] = [];
  collect(root, nodes, true);
  return nodes;
}

/** Every SELECT (outer query, subqueries, CTE bodies, set-operation arms) under `root`. */
export function selectsOf(root: unknown): AstNode[] {
  return walk(root).filter((node) => node.type === 'SelectStmt').map((node) => node.body);
}

/** A list field of a node body (empty when absent). */
export function listOf(body: AstNode | undefined, key: string): unknown[] {
  const value = body?.[key];
  return Array.isArray(value) ? value : [];
}

/** `a.b.c` column reference parts; `*` for A_Star. Undefined when the node is not a ColumnRef. */
export function columnRefParts(node: unknown): string[] | undefined {
  const ref = bodyOf(node, 'ColumnRef');
  if (!ref) return undefined;
  return listOf(ref, 'fields').map((field) => {
    const text = bodyOf(field, 'String');
    return text ? String(text.sval) : '*';
  });
}

/** The qualifier (alias) and column name of a column reference. */
export function columnOf(node: unknown): { qualifier: string | null; column: string } | undefined {
  const parts = columnRefParts(node);
  if (!parts || parts.length === 0) return undefined;
  return { qualifier: parts.length > 1 ? parts[parts.length - 2]! : null, column: parts[parts.length - 1]! };
}

/** The lower-case name of a function call (last part of a qualified name). */
export function functionName(node: unknown): string | undefined {
  const call = bodyOf(node, 'FuncCall');
  if (!call) return undefined;
  const parts = listOf(call, 'funcname').map((part) => String(bodyOf(part, 'String')?.sval ?? ''));
  return parts[parts.length - 1]?.toLowerCase();
}

/** The operator of an `A_Expr` (`=`, `<>`, `~~` …). */
export function operatorOf(expr: AstNode): string {
  const names = listOf(expr, 'name');
  return String(bodyOf(names[names.length - 1], 'String')?.sval ?? '');
}

/** The value of an integer / numeric / string / boolean constant, or undefined. */
export function constantValue(node: unknown): string | number | boolean | null | undefined {
  const constant = bodyOf(node, 'A_Const');
  if (!constant) return undefined;
  if (constant.isnull) return null;
  const ival = constant.ival as AstNode | undefined;
  if (ival) return Number(ival.ival ?? 0);
  const fval = constant.fval as AstNode | undefined;
  if (fval) return Number(fval.fval);
  const sval = constant.sval as AstNode | undefined;
  if (sval) return String(sval.sval ?? '');
  const boolval = constant.boolval as AstNode | undefined;
  if (boolval) return Boolean(boolval.boolval);
  return undefined;
}

/** The conjuncts of a boolean expression (`a AND b AND c` → [a, b, c]). */
export function conjuncts(node: unknown): unknown[] {
  if (node === undefined || node === null) return [];
  const bool = bodyOf(node, 'BoolExpr');
  if (bool && bool.boolop === 'AND_EXPR') return listOf(bool, 'args').flatMap(conjuncts);
  return [node];
}

/** Joins conjuncts back into one expression (undefined for none). */
export function andOf(parts: unknown[]): unknown {
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return { BoolExpr: { boolop: 'AND_EXPR', args: parts } };
}

/** A deep, mutable copy of a (possibly frozen) parse tree. */
export function cloneAst<T>(node: T): T {
  return structuredClone(node);
}

/** A column reference node `qualifier.column` (or just `column`). */
export function columnRef(qualifier: string | null, column: string): AstNode {
  const fields = [...(qualifier ? [{ String: { sval: qualifier } }] : []), { String: { sval: column } }];
  return { ColumnRef: { fields } };
}

/** `left = right`. */
export function equals(left: unknown, right: unknown): AstNode {
  return { A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: '=' } }], lexpr: left, rexpr: right } };
}

/** The relations a FROM list binds: alias → relation name (a CTE or table), or null for a subquery / function. */
export function bindingsOf(fromClause: unknown[]): Map<string, string | null> {
  const bindings = new Map<string, string | null>();
  const visit = (item: unknown): void => {
    const range = bodyOf(item, 'RangeVar');
    if (range) {
      const alias = (range.alias as AstNode | undefined)?.aliasname;
      bindings.set(String(alias ?? range.relname), String(range.relname));
      return;
    }
    const join = bodyOf(item, 'JoinExpr');
    if (join) {
      visit(join.larg);
      visit(join.rarg);
      return;
    }
    const sub = bodyOf(item, 'RangeSubselect') ?? bodyOf(item, 'RangeFunction');
    const alias = (sub?.alias as AstNode | undefined)?.aliasname;
    if (alias) bindings.set(String(alias), null);
  };
  for (const item of fromClause) visit(item);
  return bindings;
}
