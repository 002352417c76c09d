import { SqlSyntaxError } from '../errors.js';

interface ParserFailure {
  message?: string;
  sqlDetails?: { cursorPosition?: number; message?: string };
}

const EXCERPT_CONTEXT_LINES = 1;

/** Line and column (both 1-based) of a 0-based character offset. */
export function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(position, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/** The offending line (and the one before it) with a caret under the failing character. */
export function caretExcerpt(text: string, line: number, column: number): string {
  const lines = text.split('\n');
  const first = Math.max(1, line - EXCERPT_CONTEXT_LINES);
  const width = String(line).length;
  const shown: string[] = [];
  for (let number = first; number <= line; number += 1) {
    shown.push(`${String(number).padStart(width)} | ${lines[number - 1] ?? ''}`);
  }
  shown.push(`${' '.repeat(width)} | ${' '.repeat(column - 1)}^`);
  return shown.join('\n');
}

/** Turns libpg-query's error into a SqlSyntaxError; the parser reports a 0-based character offset. */
export function toSqlSyntaxError(text: string, error: unknown): SqlSyntaxError {
  const failure = (error ?? {}) as ParserFailure;
  const reason = failure.sqlDetails?.message ?? failure.message ?? String(error);
  const position = failure.sqlDetails?.cursorPosition ?? 0;
  const { line, column } = lineAndColumn(text, position);
  return new SqlSyntaxError(reason, position, line, column, caretExcerpt(text, line, column));
}
