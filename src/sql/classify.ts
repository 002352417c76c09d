import type { AstNode } from './parser.js';
import { nodeType } from './references.js';
import type { StatementReferences } from './references.js';
import { DETERMINISTIC_FUNCTIONS, VOLATILE_FUNCTIONS } from './functions.js';

/** What a statement does, as far as caching, routing and retrying are concerned. */
export type StatementKind = 'read' | 'write' | 'ddl' | 'transaction' | 'other';

const WRITE_STATEMENTS = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'TruncateStmt']);
// Statements that run code qopt cannot see into: they may write any table.
const OPAQUE_STATEMENTS = new Set(['DoStmt', 'CallStmt', 'ExecuteStmt']);
const DDL_PREFIX = /^(Create|Alter|Drop|Rename|Comment|Grant|Revoke|Index|View|Refresh|Reindex|Cluster|Define|Composite|Rule|SecLabel|AlterDefaultPrivileges|ImportForeignSchema|Reassign)/;

/** The kind of one statement node, given what its references showed. */
export function statementKind(stmt: AstNode, refs: StatementReferences): StatementKind {
  const type = nodeType(stmt);
  const body = stmt[type] as AstNode;
  if (type === 'SelectStmt') {
    if (refs.selectInto) return 'ddl';
    return refs.modifyingCte ? 'write' : 'read';
  }
  if (WRITE_STATEMENTS.has(type)) return 'write';
  if (type === 'CopyStmt') return body.is_from ? 'write' : 'read';
  if (type === 'TransactionStmt') return 'transaction';
  if (type === 'ExplainStmt') return explainKind(body, refs);
  if (DDL_PREFIX.test(type)) return 'ddl';
  return 'other';
}

function explainKind(body: AstNode, refs: StatementReferences): StatementKind {
  const options = (body.options as AstNode[] | undefined) ?? [];
  const analyze = options.some((option) => (option.DefElem as AstNode | undefined)?.defname === 'analyze');
  // EXPLAIN ANALYZE runs its statement: a write under it really writes.
  return analyze && refs.tables.some((table) => table.written) ? 'write' : 'other';
}

/** True for DO, CALL and EXECUTE, which may write tables the text does not name. */
export function isOpaqueStatement(stmt: AstNode): boolean {
  return OPAQUE_STATEMENTS.has(nodeType(stmt));
}

/** Why a statement's result must not be cached, or null when it may be. */
export function uncacheableReason(stmt: AstNode, kind: StatementKind, refs: StatementReferences): string | null {
  const type = nodeType(stmt);
  if (kind !== 'read') return `a ${kind} statement is never cached`;
  if (type !== 'SelectStmt') return `${type} results are not cached`;
  if (refs.lockingClause) return 'SELECT … FOR UPDATE/SHARE takes row locks and must reach the database';
  if (refs.clockOrVolatileCalls.length > 0) return `${refs.clockOrVolatileCalls[0]} reads the clock`;
  const volatile = refs.functions.find((name) => VOLATILE_FUNCTIONS.has(name) || name.startsWith('pg_'));
  if (volatile) return `${volatile}() is volatile`;
  const unknown = refs.functions.find((name) => !DETERMINISTIC_FUNCTIONS.has(name));
  if (unknown) return `the volatility of ${unknown}() is not known`;
  return null;
}
