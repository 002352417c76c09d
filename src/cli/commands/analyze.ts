import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { findAntiPatterns } from '../../analyze/findings.js';
import { analyzeQuery } from '../../analyze/queryAnalyzer.js';
import { loadConfig } from '../../config.js';
import { openDriver } from '../../db/openDriver.js';
import { analyzeSql } from '../../sql/analyze.js';
import type { SqlAnalysis, StatementAnalysis } from '../../sql/analyze.js';
import type { PredicateValue } from '../../sql/references.js';
import { databaseUrlOf, printJson, withDatabaseOption } from '../options.js';
import { formatFindings, formatPlan, parseParams } from '../reportFormat.js';

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

interface AnalyzeOptions {
  file?: string;
  json?: boolean;
  explain?: boolean;
  analyze?: boolean;
  params?: string;
  database?: string;
}

/** Static facts plus findings; with a database, catalog-aware findings and (with --explain) plan findings and cost. */
async function runAnalyze(sql: string | undefined, options: AnalyzeOptions): Promise<void> {
  const text = readSql(sql, options.file);
  const analysis = analyzeSql(text);
  const url = databaseUrlOf(options);
  if (!options.explain && !options.database) {
    const findings = findAntiPatterns(analysis);
    if (options.json) printJson({ ...analysisForOutput(analysis), findings });
    else process.stdout.write(`${[formatAnalysis(analysis), ...formatFindings(findings)].join('\n')}\n`);
    return;
  }
  const config = loadConfig({});
  const driver = await openDriver(url);
  try {
    const report = await analyzeQuery(driver, text, parseParams(options.params), {
      level: options.explain ? 2 : 1,
      maxTimeMs: config.optimization.maxOptimizationTimeMs,
      maxRewriteCostRatio: config.optimization.maxRewriteCostRatio,
      analyze: options.analyze,
    });
    if (options.json) printJson({ ...analysisForOutput(analysis), findings: report.findings, plan: report.plan });
    else process.stdout.write(`${[formatAnalysis(analysis), ...formatFindings(report.findings), ...formatPlan(report)].join('\n')}\n`);
  } finally {
    await driver.close();
  }
}

/** `qopt analyze`: what qopt knows of a statement from its text, its anti-patterns, and (with --explain) its plan. */
export function registerAnalyze(program: Command): void {
  withDatabaseOption(
    program
      .command('analyze')
      .description('analyze a SQL statement: kind, fingerprint, tables, columns, predicates, anti-patterns; --explain adds plan findings')
      .argument('[sql]', 'the statement (or use --file)')
      .option('-f, --file <path>', 'read the SQL from a file')
      .option('--explain', 'EXPLAIN the statement on the database: plan findings and cost')
      .option('--analyze', 'with --explain: EXPLAIN (ANALYZE, BUFFERS), run inside a rolled-back transaction')
      .option('--params <json>', 'bound parameters as a JSON array, for $1, $2, …')
      .option('--json', 'print JSON'),
  ).action((sql: string | undefined, options: AnalyzeOptions) => runAnalyze(sql, options));
}
