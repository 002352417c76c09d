import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { createOptimizer } from '../../optimizer.js';
import { serveUntilStopped } from '../../server/serveUntilStopped.js';
import { databaseUrlOf, withDatabaseOption } from '../options.js';

/** A TCP port; 0 asks the system for a free one (printed at start). */
export function portNumber(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return port;
}

interface ServeOptions {
  host?: string;
  port?: number;
  database?: string;
  redis?: string;
  duckdb?: string;
}

/** `qopt serve`: the REST API, Prometheus metrics and the live dashboard. */
export function registerServe(program: Command): void {
  withDatabaseOption(
    program
      .command('serve')
      .description('start the service: REST API under /api/v1, /metrics, the live dashboard at / (127.0.0.1:8080 by default; token from QOPT_API_TOKEN)')
      .option('--host <host>', 'address to bind (default 127.0.0.1: this machine only)')
      .option('--port <n>', 'port (default 8080; 0 picks a free one)', portNumber)
      .option('--redis <url>', 'Redis for the shared cache tier (default: $REDIS_URL)')
      .option('--duckdb <path>', 'DuckDB analytics copy for hybrid queries (default .qopt/analytics.duckdb)'),
  ).action(async (options: ServeOptions) => {
    const qo = await createOptimizer({
      database: { url: databaseUrlOf(options), duckdbPath: options.duckdb },
      redis: { url: options.redis },
      server: { host: options.host, port: options.port },
    });
    try {
      await serveUntilStopped(qo, { host: options.host, port: options.port, log: (message) => process.stderr.write(`${message}\n`) });
    } finally {
      await qo.close();
    }
  });
}
