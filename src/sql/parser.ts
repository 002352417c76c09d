import { fingerprintSync, loadModule, normalizeSync, parseSync, scanSync } from 'libpg-query';
import { toSqlSyntaxError } from './syntaxError.js';

// The parser is PostgreSQL's own, compiled to WASM; loading it once here lets every other call be synchronous.
await loadModule();

/** One parse-tree node: `{ "SelectStmt": { … } }` and friends, as libpg-query prints them. */
export type AstNode = Record<string, unknown>;

/** One statement of a (possibly multi-statement) text, with its place in the text. */
export interface RawStatement {
  stmt: AstNode;
  /** 0-based byte offset of the statement in the text. */
  location: number;
  /** Byte length, or undefined for "to the end of the text". */
  length: number | undefined;
}

interface ParseTree {
  stmts?: Array<{ stmt: AstNode; stmt_location?: number; stmt_len?: number }>;
}

interface ScanTree {
  tokens: Array<{ start: number; end: number; text: string; tokenName: string; keywordKind: number }>;
}

/** A lexical token of the statement text (PostgreSQL's scanner). */
export type SqlToken = ScanTree['tokens'][number];

function rethrow(text: string, error: unknown): never {
  throw toSqlSyntaxError(text, error);
}

/** Parses with the real PostgreSQL grammar; throws SqlSyntaxError with the position on bad input. */
export function parseStatements(text: string): RawStatement[] {
  let tree: ParseTree;
  try {
    tree = parseSync(text) as ParseTree;
  } catch (error) {
    rethrow(text, error);
  }
  return (tree.stmts ?? []).map((entry) => ({
    stmt: entry.stmt,
    location: entry.stmt_location ?? 0,
    length: entry.stmt_len,
  }));
}

/** libpg-query's fingerprint: equal for statements that differ only in constants, whitespace, case or comments. */
export function fingerprintOf(text: string): string {
  try {
    return fingerprintSync(text);
  } catch (error) {
    rethrow(text, error);
  }
}

/** The statement with every constant replaced by `$n` (structure, LIMIT and OFFSET kept). */
export function normalizedTextOf(text: string): string {
  try {
    return normalizeSync(text);
  } catch (error) {
    rethrow(text, error);
  }
}

const COMMENT_TOKENS = new Set(['SQL_COMMENT', 'C_COMMENT']);

/** PostgreSQL's scanner tokens, comments dropped (the scanner already drops whitespace). */
export function tokensOf(text: string): SqlToken[] {
  try {
    return (scanSync(text) as ScanTree).tokens.filter((token) => !COMMENT_TOKENS.has(token.tokenName));
  } catch (error) {
    rethrow(text, error);
  }
}
