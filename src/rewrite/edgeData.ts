import { bodyOf, columnOf, constantValue, listOf, walk } from '../analyze/ast.js';
import type { Catalog, CatalogColumn, CatalogTable } from '../analyze/catalog.js';
import type { DriverSession } from '../db/driver.js';
import type { AstNode } from '../sql/parser.js';
import { EdgeDataError } from './errors.js';

/** Rows generated per table: enough for duplicates and ties, small enough to run in milliseconds. */
const ROWS_PER_TABLE = 120;
/** Live rows sampled per table for realistic values. */
const SAMPLE_ROWS = 20;
/** Values kept per column domain (a small domain makes duplicates and ties). */
const DOMAIN_SIZE = 3;
/** Share of NULLs in a nullable column. */
const NULL_SHARE = 0.15;
/** Share of the statement's own values in a column it compares, so its filters and joins match some rows. */
const FAVOURED_SHARE = 0.8;

/** A seeded generator (mulberry32), so a failing check can be replayed. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values the statement compares each column name with (its constants and bound parameters). */
export function queryValuesByColumn(ast: AstNode, params: readonly unknown[]): Map<string, unknown[]> {
  const values = new Map<string, unknown[]>();
  const add = (column: string, value: unknown) => {
    if (value === undefined || value === null || Array.isArray(value)) return;
    values.set(column, [...(values.get(column) ?? []), value]);
  };
  const valueOf = (node: unknown): unknown => {
    const param = bodyOf(node, 'ParamRef') ?? bodyOf(bodyOf(node, 'TypeCast')?.arg, 'ParamRef');
    return param ? params[Number(param.number) - 1] : constantValue(node) ?? constantValue(bodyOf(node, 'TypeCast')?.arg);
  };
  for (const node of walk(ast)) {
    if (node.type !== 'A_Expr') continue;
    const column = columnOf(node.body.lexpr);
    if (!column) continue;
    const right = bodyOf(node.body.rexpr, 'List') ? listOf(bodyOf(node.body.rexpr, 'List'), 'items') : [node.body.rexpr];
    for (const item of right) add(column.column, valueOf(item));
  }
  return values;
}

function typeDefaults(type: string): unknown[] {
  if (/int|serial/.test(type)) return [1, 2, 3];
  if (/numeric|double|real|decimal/.test(type)) return [1.5, 2.5, 1.5];
  if (/bool/.test(type)) return [true, false];
  if (/timestamp/.test(type)) return ['2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z'];
  if (/^date/.test(type)) return ['2024-01-01', '2024-01-02'];
  if (/json/.test(type)) return [{ value: 'a' }, { value: 'b' }];
  if (/char|text/.test(type)) return ['a', 'b'];
  return [];
}

function domainOf(column: CatalogColumn, sampled: unknown[], queryValues: unknown[]): unknown[] {
  const seen = new Set<string>();
  const domain: unknown[] = [];
  for (const value of [...queryValues, ...sampled, ...typeDefaults(column.type)]) {
    const key = JSON.stringify(value);
    if (value === null || seen.has(key) || domain.length >= DOMAIN_SIZE + queryValues.length) continue;
    seen.add(key);
    domain.push(value);
  }
  return domain;
}

function isUniqueColumn(table: CatalogTable, column: string): boolean {
  return table.uniqueKeys.some((key) => key.length === 1 && key[0] === column);
}

/** Generated rows: small domains (duplicates, ties), NULLs in nullable columns, the statement's own values often. */
function generateRows(table: CatalogTable, sample: Array<Record<string, unknown>>, queryValues: Map<string, unknown[]>, random: () => number): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  const domains = new Map(table.columns.map((column) => [column.name, domainOf(column, sample.map((row) => row[column.name]).filter((value) => value !== null && value !== undefined), queryValues.get(column.name) ?? [])]));
  for (let index = 1; index <= ROWS_PER_TABLE; index += 1) {
    const row: Record<string, unknown> = {};
    for (const column of table.columns) {
      if (isUniqueColumn(table, column.name) && /int|serial/.test(column.type)) {
        row[column.name] = index;
        continue;
      }
      const domain = domains.get(column.name)!;
      const favoured = queryValues.get(column.name) ?? [];
      const roll = random();
      if (!column.notNull && roll < NULL_SHARE) row[column.name] = null;
      else if (favoured.length > 0 && roll < NULL_SHARE + FAVOURED_SHARE) row[column.name] = favoured[Math.floor(random() * favoured.length)];
      else row[column.name] = domain.length > 0 ? domain[Math.floor(random() * domain.length)] : null;
    }
    rows.push(row);
  }
  return rows;
}

/** The session's temporary schema, inside the caller's transaction, holding edge-case copies of the statement's tables. */
export interface EdgeSchema {
  /** What to put in `search_path` so the statement's unqualified names reach the copies: `pg_temp`. */
  name: string;
  rows: Record<string, number>;
}

// Temporary tables need only the TEMP privilege, which PUBLIC has on a database by default, so a role without
// CREATE (the service's `server.queryRole`) can still run the proof; they are the session's own, so concurrent
// proofs on other connections never meet.
const EDGE_SCHEMA = 'pg_temp';

/**
 * Creates temporary empty copies (constraints and indexes included) of the catalogued tables and fills them
 * with generated rows. Call inside a transaction that is rolled back: nothing is left behind.
 */
export async function createEdgeSchema(session: DriverSession, catalog: Catalog, ast: AstNode, params: readonly unknown[], seed: number): Promise<EdgeSchema> {
  const name = EDGE_SCHEMA;
  const random = rng(seed);
  const queryValues = queryValuesByColumn(ast, params);
  const rows: Record<string, number> = {};
  for (const table of catalog.tables.values()) {
    const live = `"${table.schema}"."${table.name}"`;
    try {
      const sample = await session.query<{ r: Record<string, unknown> }>(`SELECT row_to_json(x) AS r FROM (SELECT * FROM ${live} LIMIT ${SAMPLE_ROWS}) x`);
      await session.query(`CREATE TEMP TABLE "${table.name}" (LIKE ${live} INCLUDING ALL)`);
      const generated = generateRows(table, sample.rows.map((row) => row.r), queryValues, random);
      const inserted = await session.query(
        `INSERT INTO ${name}."${table.name}" SELECT * FROM json_populate_recordset(NULL::${name}."${table.name}", $1::json) ON CONFLICT DO NOTHING`,
        [JSON.stringify(generated)],
      );
      rows[table.name] = inserted.rowCount;
    } catch (error) {
      throw new EdgeDataError(table.name, error);
    }
  }
  return { name, rows };
}
