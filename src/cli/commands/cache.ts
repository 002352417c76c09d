import type { Command } from 'commander';
import { capturedTables, installCapture, removeCapture } from '../../cache/capture/install.js';
import { UsageError } from '../../errors.js';
import { createOptimizer } from '../../optimizer.js';
import type { Optimizer } from '../../optimizer.js';
import { databaseUrlOf, printJson, withDatabaseOption } from '../options.js';

interface CacheCommandOptions {
  database?: string;
  redis?: string;
  json?: boolean;
}

function redisUrlOf(options: CacheCommandOptions): string | undefined {
  return options.redis ?? process.env.QOPT_REDIS_URL ?? process.env.REDIS_URL ?? undefined;
}

async function withOptimizer<T>(options: CacheCommandOptions, work: (qo: Optimizer) => Promise<T>): Promise<T> {
  const redisUrl = redisUrlOf(options);
  const qo = await createOptimizer({
    database: { url: databaseUrlOf(options) },
    redis: redisUrl ? { url: redisUrl } : {},
    cache: { changeCapture: false },
  });
  try {
    return await work(qo);
  } finally {
    await qo.close();
  }
}

function withRedisOption(command: Command): Command {
  return command.option('--redis <url>', 'the Redis the running instances share (default: $REDIS_URL)');
}

function splitList(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter(Boolean);
}

/** `qopt cache …`: change capture, shared-tier stats and invalidation. */
export function registerCache(program: Command): void {
  const cache = program.command('cache').description('the query-result cache: change capture, stats, invalidation');
  const capture = cache.command('capture').description('NOTIFY triggers so writes made outside qopt invalidate the cache');
  capture.exitOverride();

  withDatabaseOption(
    capture
      .command('install')
      .description('install statement-level NOTIFY triggers on tables (writes from psql or other services then invalidate)')
      .requiredOption('--tables <list>', 'comma-separated tables (table or schema.table)', splitList)
      .option('--json', 'print the captured tables as JSON'),
  ).action(async (options: CacheCommandOptions & { tables: string[] }) => {
    const tables = await withOptimizer(options, (qo) => installCapture(qo.driver, options.tables));
    if (options.json) printJson({ captured: tables });
    else process.stdout.write(`change capture on: ${tables.join(', ')}\n`);
  });

  withDatabaseOption(capture.command('remove').description('remove every capture trigger and the trigger function').option('--json', 'print JSON')).action(
    async (options: CacheCommandOptions) => {
      const removed = await withOptimizer(options, (qo) => removeCapture(qo.driver));
      if (options.json) printJson({ removed });
      else process.stdout.write(removed.length > 0 ? `change capture removed from: ${removed.join(', ')}\n` : 'no change capture was installed\n');
    },
  );

  withRedisOption(
    withDatabaseOption(cache.command('stats').description('captured tables and the shared (Redis) tier: entries and bytes').option('--json', 'print JSON')),
  ).action(async (options: CacheCommandOptions) => {
    const report = await withOptimizer(options, async (qo) => {
      const captured = await capturedTables(qo.driver).catch(() => []);
      const l2 = qo.cache.redis?.isAvailable ? await qo.cache.redis.usage() : null;
      return { captured, redis: qo.cache.redis ? { available: qo.cache.redis.isAvailable, ...(l2 ?? {}) } : null };
    });
    if (options.json) return printJson(report);
    const lines = [`captured tables: ${report.captured.join(', ') || 'none'}`];
    if (!report.redis) lines.push('shared tier: no Redis configured (--redis or REDIS_URL); L1 stats live in each process (qo.cache.stats())');
    else if (!report.redis.available) lines.push('shared tier: Redis unreachable');
    else lines.push(`shared tier: ${report.redis.entries ?? 0} entries, ${report.redis.bytes ?? 0} bytes`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });

  withRedisOption(
    withDatabaseOption(
      cache
        .command('invalidate')
        .description('invalidate cached results on every instance sharing the Redis')
        .option('--table <list>', 'tables whose readers are invalidated', splitList)
        .option('--tag <list>', 'tags to invalidate', splitList)
        .option('--pattern <glob>', 'drop entries whose key (target, canonical SQL, parameters) matches')
        .option('--all', 'invalidate everything')
        .option('--json', 'print JSON'),
    ),
  ).action(async (options: CacheCommandOptions & { table?: string[]; tag?: string[]; pattern?: string; all?: boolean }) => {
    if (!redisUrlOf(options)) throw new UsageError('cache invalidate tells running instances through Redis: pass --redis URL or set REDIS_URL');
    if (!options.table && !options.tag && !options.pattern && !options.all) throw new UsageError('say what to invalidate: --table, --tag, --pattern or --all');
    const done = await withOptimizer(options, async (qo) => {
      if (!qo.cache.redis?.isAvailable) throw new UsageError('Redis is unreachable: nothing was invalidated');
      const actions: string[] = [];
      if (options.all) {
        await qo.cache.invalidateAll();
        actions.push('all');
      }
      if (options.table) {
        await qo.cache.invalidateTables(options.table);
        actions.push(`tables ${options.table.join(', ')}`);
      }
      for (const tag of options.tag ?? []) {
        await qo.cache.invalidateTag(tag);
        actions.push(`tag ${tag}`);
      }
      if (options.pattern) actions.push(`pattern ${options.pattern} (${await qo.cache.invalidatePattern(options.pattern)} shared entries dropped)`);
      return actions;
    });
    if (options.json) printJson({ invalidated: done });
    else process.stdout.write(`invalidated: ${done.join('; ')}\n`);
  });
  for (const command of [...cache.commands, ...capture.commands]) command.exitOverride();
}
