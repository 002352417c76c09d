import type { Driver } from '../../db/driver.js';
import { CaptureError } from '../errors.js';

/** The NOTIFY channel the capture triggers send on; the payload is `schema.table` (far below NOTIFY's 8000 bytes). */
export const CAPTURE_CHANNEL = 'qopt_changes';
/** Name of every capture trigger, so `remove` finds exactly what `install` made. */
export const CAPTURE_TRIGGER = 'qopt_capture';
const FUNCTION = 'qopt_capture_notify';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

function quoteTable(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) throw new CaptureError(`"${name}" is not a table name (schema.table or table)`);
  return parts.map((part) => `"${part.toLowerCase()}"`).join('.');
}

/**
 * Installs statement-level triggers that NOTIFY after every INSERT, UPDATE, DELETE or TRUNCATE on
 * the tables, so writes made outside qopt (psql, other services) invalidate the cache. One
 * transaction: either every table is captured or none.
 */
export async function installCapture(driver: Driver, tables: readonly string[]): Promise<string[]> {
  if (tables.length === 0) throw new CaptureError('name at least one table to capture (--tables a,b)');
  const quoted = tables.map(quoteTable);
  try {
    await driver.transaction(async (session) => {
      await session.query(`CREATE OR REPLACE FUNCTION ${FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('${CAPTURE_CHANNEL}', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
  RETURN NULL;
END
$fn$`);
      for (const table of quoted) {
        await session.query(`DROP TRIGGER IF EXISTS ${CAPTURE_TRIGGER} ON ${table}`);
        await session.query(
          `CREATE TRIGGER ${CAPTURE_TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${FUNCTION}()`,
        );
      }
    });
  } catch (error) {
    throw new CaptureError(`cannot install change capture: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  return capturedTables(driver);
}

/** The tables (schema.table) that carry a capture trigger, in the schemas of the current search_path. */
export async function capturedTables(driver: Driver): Promise<string[]> {
  const result = await driver.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE t.tgname = $1 AND n.nspname = ANY (current_schemas(false))
      ORDER BY 1`,
    [CAPTURE_TRIGGER],
  );
  return result.rows.map((row) => row.name);
}

/** Removes every capture trigger and the trigger function from the schemas of the current search_path. */
export async function removeCapture(driver: Driver): Promise<string[]> {
  const tables = await capturedTables(driver);
  const functions = await driver.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.proname = $1 AND n.nspname = ANY (current_schemas(false))`,
    [FUNCTION],
  );
  await driver.transaction(async (session) => {
    for (const table of tables) {
      const [schema, name] = table.split('.');
      await session.query(`DROP TRIGGER IF EXISTS ${CAPTURE_TRIGGER} ON "${schema}"."${name}"`);
    }
    for (const row of functions.rows) await session.query(`DROP FUNCTION IF EXISTS "${row.schema}".${FUNCTION}()`);
  });
  return tables;
}
