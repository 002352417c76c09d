import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadCatalog } from '../../analyze/catalog.js';
import { analyzeQuery } from '../../analyze/queryAnalyzer.js';
import { loadConfig } from '../../config.js';
import { openDriver } from '../../db/openDriver.js';
import { UsageError } from '../../errors.js';
import { rewriteStatement } from '../../rewrite/rewriter.js';
import { analyzeSql } from '../../sql/analyze.js';
import { databaseUrlOf, positiveInteger, printJson, withDatabaseOption } from '../options.js';
import { formatRewrite, parseParams } from '../reportFormat.js';

interface RewriteOptions {
  file?: string;
  verify?: boolean;
  json?: boolean;
  params?: string;
  database?: string;
  maxTime?: number;
}

/** `qopt rewrite`: the rewrites qopt knows for a statement; with --verify, proven cheaper and equal (or why not). */
export function registerRewrite(program: Command): void {
  withDatabaseOption(
    program
      .command('rewrite')
      .description('rewrite a SELECT (latest-row windows, self-joins per filter, NOT IN, COUNT > 0, …); --verify proves each on the database')
      .argument('[sql]', 'the statement (or use --file)')
      .option('-f, --file <path>', 'read the SQL from a file')
      .option('--verify', 'prove each rewrite: planner cost and the same rows on live and generated edge-case data')
      .option('--params <json>', 'bound parameters as a JSON array, for $1, $2, …')
      .option('--max-time <ms>', 'time budget of the verification (default: optimization.maxOptimizationTimeMs)', positiveInteger)
      .option('--json', 'print JSON'),
  ).action(async (sql: string | undefined, options: RewriteOptions) => {
    if (sql && options.file) throw new UsageError('give the SQL either as an argument or with --file, not both');
    const text = options.file ? readFileSync(options.file, 'utf8') : sql;
    if (!text) throw new UsageError('no SQL given: qopt rewrite "SELECT …" or qopt rewrite --file query.sql');
    analyzeSql(text);
    const params = parseParams(options.params);
    const config = loadConfig({});
    const driver = await openDriver(databaseUrlOf(options));
    try {
      if (options.verify) {
        const report = await analyzeQuery(driver, text, params, {
          level: 3,
          maxTimeMs: options.maxTime ?? config.optimization.maxOptimizationTimeMs,
          maxRewriteCostRatio: config.optimization.maxRewriteCostRatio,
        });
        const rewrites = report.rewrites ?? { verified: [], refusals: [], suggestions: [], best: null, bestWithIndexes: null };
        if (options.json) {
          printJson({ fingerprint: report.fingerprint, ...rewrites, truncated: report.truncated });
          return;
        }
        const lines = rewrites.verified.flatMap(formatRewrite);
        for (const refusal of rewrites.refusals) lines.push(`refused (${refusal.rule}): ${refusal.reason}`);
        for (const suggestion of rewrites.suggestions) lines.push(`suggestion (${suggestion.rule}): ${suggestion.sql}`, ...suggestion.notes.map((note) => `  note: ${note}`));
        if (report.truncated) lines.push(`stopped at ${report.truncated}: time budget (${options.maxTime ?? config.optimization.maxOptimizationTimeMs} ms) reached; raise --max-time`);
        lines.push(rewrites.best ? `best proven rewrite: ${rewrites.best.rules.join(' + ')} (${rewrites.best.verdict.improvementPercent}% estimated improvement)` : 'no rewrite proven: the original stays');
        const withIndexes = rewrites.bestWithIndexes;
        if (withIndexes) lines.push(`better with its index: ${withIndexes.rules.join(' + ')} — ${withIndexes.verdict.supportingIndexes!.statements.join('; ')}; then run qopt rewrite --verify again`);
        process.stdout.write(`${lines.join('\n')}\n`);
        return;
      }
      const plan = rewriteStatement(text, params, await loadCatalog(driver, analyzeSql(text).readTables));
      if (options.json) {
        printJson(plan);
        return;
      }
      const lines = plan.candidates.flatMap((candidate) => [`rewrite (${candidate.rules.join(' + ')}), unverified:`, `  ${candidate.sql}`, ...candidate.notes.map((note) => `  note: ${note}`)]);
      for (const refusal of plan.refusals) lines.push(`refused (${refusal.rule}): ${refusal.reason}`);
      for (const suggestion of plan.suggestions) lines.push(`suggestion (${suggestion.rule}): ${suggestion.sql}`, ...suggestion.notes.map((note) => `  note: ${note}`));
      if (lines.length === 0) lines.push('no rewrite applies');
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      await driver.close();
    }
  });
}
