import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { canonicalText, constantsOf } from './canonical.js';
import { isOpaqueStatement, statementKind, uncacheableReason } from './classify.js';
import type { StatementKind } from './classify.js';
import { fingerprintOf, normalizedTextOf, parseStatements, tokensOf } from './parser.js';
import type { AstNode } from './parser.js';
import { nodeType, ReferenceCollector } from './references.js';
import type { StatementReferences, TableReference } from './references.js';

/** A query-shape identifier: equal for statements that differ only in constants, whitespace, case or comments. */
export type Fingerprint = string & { readonly brand: 'Fingerprint' };

/** The facts of one statement. */
export interface StatementAnalysis extends StatementReferences {
  /** The parse-tree node type, e.g. `SelectStmt`. */
  command: string;
  kind: StatementKind;
  /** DO / CALL / EXECUTE: may write tables the text does not name. */
  opaque: boolean;
  cacheable: boolean;
  uncacheableReason: string | null;
  /** The statement's parse tree (libpg-query JSON). */
  ast: AstNode;
}

/** Everything qopt knows about a SQL text without asking the database. */
export interface SqlAnalysis {
  text: string;
  fingerprint: Fingerprint;
  /** Constants replaced by `$n`; LIMIT/OFFSET kept as `$n`. Groups statistics, never a cache key alone. */
  normalized: string;
  /** Canonical token text with every constant kept: the statement part of a cache key. */
  canonical: string;
  /** The literal constants the normalized text replaced, in text order. */
  constants: string[];
  /** The strongest kind among the statements: write > ddl > other > transaction > read. */
  kind: StatementKind;
  cacheable: boolean;
  uncacheableReason: string | null;
  /** Tables of all statements, merged. */
  tables: TableReference[];
  readTables: string[];
  writeTables: string[];
  /** The highest `$n` referenced. */
  parameterCount: number;
  statements: StatementAnalysis[];
}

const KIND_STRENGTH: Record<StatementKind, number> = { read: 0, transaction: 1, other: 2, ddl: 3, write: 4 };

function analyzeStatement(stmt: AstNode): StatementAnalysis {
  const refs = new ReferenceCollector().collect(stmt);
  const kind = statementKind(stmt, refs);
  const reason = uncacheableReason(stmt, kind, refs);
  return {
    ...refs,
    command: nodeType(stmt),
    kind,
    opaque: isOpaqueStatement(stmt),
    cacheable: reason === null,
    uncacheableReason: reason,
    ast: stmt,
  };
}

function mergeTables(statements: StatementAnalysis[]): TableReference[] {
  const merged = new Map<string, TableReference>();
  for (const statement of statements) {
    for (const table of statement.tables) {
      const known = merged.get(table.key);
      if (!known) merged.set(table.key, { ...table });
      else {
        known.read ||= table.read;
        known.written ||= table.written;
      }
    }
  }
  return [...merged.values()];
}

function strongestKind(statements: StatementAnalysis[]): StatementKind {
  let kind: StatementKind = 'other';
  let strength = -1;
  for (const statement of statements) {
    if (KIND_STRENGTH[statement.kind] > strength) {
      kind = statement.kind;
      strength = KIND_STRENGTH[statement.kind];
    }
  }
  return kind;
}

function parameterCountOf(tokens: ReturnType<typeof tokensOf>): number {
  let highest = 0;
  for (const token of tokens) {
    if (token.tokenName === 'PARAM') highest = Math.max(highest, Number(token.text.slice(1)));
  }
  return highest;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * libpg-query's fingerprint ignores schema qualifiers (`s1.t` and `s2.t` fingerprint alike), which would
 * mix the statistics of two different tables; qopt folds the qualified table names into the fingerprint.
 */
function schemaAwareFingerprint(text: string, tables: readonly TableReference[]): Fingerprint {
  const base = fingerprintOf(text);
  const qualified = tables.filter((table) => table.schema !== null).map((table) => table.key).sort();
  if (qualified.length === 0) return base as Fingerprint;
  return createHash('sha1').update(`${base}|${qualified.join(',')}`).digest('hex').slice(0, 16) as Fingerprint;
}

/** Parses and analyzes without memoization; prefer `analyzeSql`. */
export function analyzeSqlUncached(text: string): SqlAnalysis {
  const statements = parseStatements(text).map((raw) => analyzeStatement(raw.stmt));
  const tokens = tokensOf(text);
  const tables = mergeTables(statements);
  const single = statements.length === 1 ? statements[0] : undefined;
  const reason = single ? single.uncacheableReason : statements.length === 0 ? 'an empty statement is not cached' : 'a multi-statement text is never cached';
  return {
    text,
    fingerprint: schemaAwareFingerprint(text, tables),
    normalized: normalizedTextOf(text),
    canonical: canonicalText(tokens),
    constants: constantsOf(tokens),
    kind: statements.length === 0 ? 'other' : strongestKind(statements),
    cacheable: reason === null,
    uncacheableReason: reason,
    tables,
    readTables: tables.filter((table) => table.read).map((table) => table.key),
    writeTables: tables.filter((table) => table.written).map((table) => table.key),
    parameterCount: parameterCountOf(tokens),
    statements,
  };
}

/** A bounded, memoized analyzer: a repeated text costs a map lookup, not a parse. */
export class SqlAnalyzer {
  private readonly memo: LRUCache<string, SqlAnalysis>;

  constructor(maxEntries = 10_000) {
    this.memo = new LRUCache({ max: maxEntries });
  }

  /** The (frozen) analysis of a text; throws SqlSyntaxError on bad SQL. */
  analyze(text: string): SqlAnalysis {
    const known = this.memo.get(text);
    if (known) return known;
    const analysis = deepFreeze(analyzeSqlUncached(text));
    this.memo.set(text, analysis);
    return analysis;
  }

  /** Texts currently memoized. */
  get size(): number {
    return this.memo.size;
  }
}

const sharedAnalyzer = new SqlAnalyzer();

/** Analyzes a SQL text (memoized by text in a process-wide bounded LRU). */
export function analyzeSql(text: string): SqlAnalysis {
  return sharedAnalyzer.analyze(text);
}
