import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConnectionError, UsageError } from '../errors.js';
import type { Driver } from './driver.js';
import { PgDriver } from './pgDriver.js';
import type { PgDriverOptions } from './pgDriver.js';
import { PgliteDriver } from './pgliteDriver.js';

/** Where the embedded database lives when no `--database` / DATABASE_URL is given. */
export const DEFAULT_EMBEDDED_DIR = '.qopt/pglite';

/** Pool settings passed through to the node-postgres driver. */
export type DriverPoolOptions = Omit<PgDriverOptions, 'connectionString'>;

/** What kind of database a `--database` value names. */
export type DatabaseLocation =
  | { kind: 'postgres'; url: string }
  | { kind: 'pglite'; dataDir: string | undefined };

/** Reads a `--database` value: `postgres://…` / `postgresql://…`, `pglite:./dir`, `memory:`, or nothing. */
export function parseDatabaseLocation(url: string | undefined, cwd = process.cwd()): DatabaseLocation {
  if (!url) return { kind: 'pglite', dataDir: resolve(cwd, DEFAULT_EMBEDDED_DIR) };
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url };
  if (url === 'memory:' || url === 'pglite:memory:' || url === 'pglite:') return { kind: 'pglite', dataDir: undefined };
  if (url.startsWith('pglite:')) return { kind: 'pglite', dataDir: resolve(cwd, url.slice('pglite:'.length)) };
  throw new UsageError(`unsupported database URL "${url}": use postgres://…, pglite:./dir or memory:`);
}

/** Opens a driver for a location and checks the connection with `SELECT 1`. */
export async function openDriver(url: string | undefined, pool: DriverPoolOptions = {}): Promise<Driver> {
  const location = parseDatabaseLocation(url);
  if (location.kind === 'pglite') {
    if (location.dataDir) mkdirSync(location.dataDir, { recursive: true });
    const target = location.dataDir ? `pglite:${location.dataDir}` : 'memory:';
    try {
      return await PgliteDriver.open(location.dataDir);
    } catch (error) {
      throw new ConnectionError(target, error);
    }
  }
  const driver = new PgDriver({ connectionString: location.url, ...pool });
  try {
    await driver.query('SELECT 1');
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw error instanceof ConnectionError ? error : new ConnectionError(driver.target, error);
  }
  return driver;
}
