import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { analyzeSql } from '../../sql/analyze.js';
import type { SqlAnalysis, StatementAnalysis } from '../../sql/analyze.js';
import type { PredicateValue } from '../../sql/references.js';
import { printJson } from '../options.js';

/** The JSON shape of `qopt analyze --json`: the analysis without parse trees. */
export function analysisForOutput(analysis: SqlAnalysis): Record<string, unknown> {
  const { statements, ...summary } = analysis;
  return { ...summary, statements: statements.map(({ ast: _ast, ...statement }) => statement) };
}

function formatValue(value: PredicateValue): string {
  switch (value.kind) {
    case 'constant':
      return typeof value.value === 'string' ? `'${value.value}'` : String(value.value);
    case 'parameter':
      return `$${value.index}`;
    case 'list':
      return `(${value.items.map(formatValue).join(', ')})`;
    case 'none':
      return '';
  }
}

function formatStatement(statement: StatementAnalysis, index: number, total: number): string[] {
  const lines: string[] = [];
  if (total > 1) lines.push(`statement ${index + 1}: ${statement.command}`);
  lines.push(`  kind:        ${statement.kind}${statement.opaque ? ' (may write tables it does not name)' : ''}`);
  lines.push(`  cacheable:   ${statement.cacheable ? 'yes' : `no — ${statement.uncacheableReason}`}`);
  const tables = statement.tables.map((table) => `${table.key}${table.written ? ' (written)' : ''}`);
  lines.push(`  tables:      ${tables.join(', ') || '—'}`);
  for (const [table, columns] of Object.entries(statement.columns)) lines.push(`  columns:     ${table}: ${columns.join(', ')}`);
  for (const [table, columns] of Object.entries(statement.writtenColumns)) lines.push(`  writes:      ${table}: ${columns.join(', ')}`);
  for (const unresolved of statement.unresolvedColumns) lines.push(`  unresolved:  ${unresolved.column} (one of ${unresolved.candidates.join(', ')})`);
  for (const predicate of statement.predicates) {
    lines.push(`  predicate:   ${predicate.table}.${predicate.column} ${predicate.op} ${formatValue(predicate.value)}`.trimEnd());
  }
  for (const join of statement.joins) lines.push(`  join:        ${join.left.table}.${join.left.column} = ${join.right.table}.${join.right.column}`);
  for (const key of statement.orderBy) lines.push(`  order by:    ${key.table}.${key.column}${key.descending ? ' DESC' : ''}`);
  return lines;
}

/** The human-readable report of a static analysis. */
export function formatAnalysis(analysis: SqlAnalysis): string {
  const lines = [`fingerprint: ${analysis.fingerprint}`, `normalized:  ${analysis.normalized}`];
  analysis.statements.forEach((statement, index) => lines.push(...formatStatement(statement, index, analysis.statements.length)));
  return lines.join('\n');
}

function readSql(sql: string | undefined, file: string | undefined): string {
  if (sql && file) throw new UsageError('give the SQL either as an argument or with --file, not both');
  if (file) return readFileSync(file, 'utf8');
  if (sql) return sql;
  throw new UsageError('no SQL given: qopt analyze "SELECT …" or qopt analyze --file query.sql');
}

/** `qopt analyze`: what qopt knows of a statement from its text. */
export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description('analyze a SQL statement: kind, fingerprint, tables, columns, predicates')
    .argument('[sql]', 'the statement (or use --file)')
    .option('-f, --file <path>', 'read the SQL from a file')
    .option('--json', 'print JSON')
    .action((sql: string | undefined, options: { file?: string; json?: boolean }) => {
      const analysis = analyzeSql(readSql(sql, options.file));
      if (options.json) printJson(analysisForOutput(analysis));
      else process.stdout.write(`${formatAnalysis(analysis)}\n`);
    });
}
