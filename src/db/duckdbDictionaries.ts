import type { DuckDbSession } from './duckdbDriver.js';

/** Text columns with more distinct values than this stay VARCHAR (65,535 labels keep an ENUM's codes 16 bits wide). */
export const DEFAULT_ENUM_MAX_VALUES = 65_535;
/** A column is low-cardinality on its own when each of its values repeats at least this often on average. */
const MIN_REPEATS = 4;
/** approx_count_distinct errs by a few per cent: a column this far above the limit is not counted exactly. */
const APPROX_SLACK = 1.1;
const TYPE_PREFIX = '_qopt_dictionary_';

/** A column of a DuckDB copy: the copy's table name and the column's name. */
export interface CopyColumn {
  table: string;
  column: string;
}

/** A table being copied, staged as VARCHAR text columns in a TEMP table. */
export interface StagedCopy {
  /** The copy's table name in DuckDB. */
  table: string;
  staging: string;
  rows: number;
  textColumns: readonly string[];
}

/** A declared single-column foreign key between two copies: their values share one dictionary. */
export interface ForeignKeyLink {
  from: CopyColumn;
  to: CopyColumn;
}

/** One ENUM type created for this sync and the staged columns cast to it. */
export interface Dictionary {
  type: string;
  labels: number;
  columns: CopyColumn[];
}

interface Member extends CopyColumn {
  /** Where its values are read: a staged table, or an existing copy whose ENUM labels are kept. */
  source: { kind: 'staged'; staging: string; approxDistinct: number; rows: number } | { kind: 'existing' };
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function keyOf(column: CopyColumn): string {
  return `${column.table}.${column.column}`;
}

function lowCardinality(member: Member, maxValues: number): boolean {
  if (member.source.kind === 'existing') return true;
  return member.source.approxDistinct <= maxValues && member.source.approxDistinct * MIN_REPEATS <= member.source.rows;
}

function valuesOf(member: Member): string {
  const column = quoteIdentifier(member.column);
  if (member.source.kind === 'staged') return `SELECT ${column}::VARCHAR AS v FROM ${member.source.staging}`;
  // The existing copy's whole dictionary, not only the values it holds now, so its codes stay the same.
  return `SELECT unnest(enum_range(${column}))::VARCHAR AS v FROM (SELECT ${column} FROM ${quoteIdentifier(member.table)} WHERE ${column} IS NOT NULL LIMIT 1)`;
}

async function stagedMembers(session: DuckDbSession, copy: StagedCopy): Promise<Member[]> {
  if (copy.textColumns.length === 0) return [];
  const counts = copy.textColumns.map((column, index) => `approx_count_distinct(${quoteIdentifier(column)}) AS d${index}`).join(', ');
  const row = (await session.query(`SELECT ${counts} FROM ${copy.staging}`)).rows[0] ?? {};
  return copy.textColumns.map((column, index) => ({
    table: copy.table,
    column,
    source: { kind: 'staged', staging: copy.staging, approxDistinct: Number(row[`d${index}`] ?? 0), rows: copy.rows },
  }));
}

/** ENUM columns of copies in the file that this sync does not replace. */
async function existingMembers(session: DuckDbSession, replaced: ReadonlySet<string>): Promise<Member[]> {
  const result = await session.query("SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal AND data_type LIKE 'ENUM(%'");
  return result.rows
    .map((row) => ({ table: String(row.table_name), column: String(row.column_name), source: { kind: 'existing' as const } }))
    .filter((member) => !replaced.has(member.table));
}

/** Groups columns that must share codes: the same name, or the two ends of a declared foreign key. */
function groupsOf(members: readonly Member[], links: readonly ForeignKeyLink[]): Member[][] {
  const parent = new Map(members.map((member) => [keyOf(member), keyOf(member)]));
  const find = (key: string): string => {
    const up = parent.get(key)!;
    if (up === key) return key;
    const root = find(up);
    parent.set(key, root);
    return root;
  };
  const union = (a: string, b: string) => {
    if (parent.has(a) && parent.has(b)) parent.set(find(a), find(b));
  };
  const byName = new Map<string, string>();
  for (const member of members) {
    const first = byName.get(member.column);
    if (first) union(keyOf(member), first);
    else byName.set(member.column, keyOf(member));
  }
  for (const link of links) union(keyOf(link.from), keyOf(link.to));
  const groups = new Map<string, Member[]>();
  for (const member of members) groups.set(find(keyOf(member)), [...(groups.get(find(keyOf(member))) ?? []), member]);
  return [...groups.values()];
}

function worthADictionary(group: readonly Member[], maxValues: number): boolean {
  const staged = group.filter((member) => member.source.kind === 'staged');
  if (staged.length === 0 || !group.some((member) => lowCardinality(member, maxValues))) return false;
  return staged.every((member) => member.source.kind === 'staged' && member.source.approxDistinct <= maxValues * APPROX_SLACK);
}

/**
 * Creates one ENUM type per group of low-cardinality text columns (labels sorted as DuckDB sorts VARCHAR, so
 * comparisons and ORDER BY give what VARCHAR would) and returns which staged columns to cast to it. Joins and
 * GROUP BY on such columns then run on small integer codes; results still come back as strings. A column
 * keeps the dictionary it was created with, so the types can be dropped once the copies are written.
 */
export async function createDictionaries(
  session: DuckDbSession,
  staged: readonly StagedCopy[],
  links: readonly ForeignKeyLink[],
  maxValues: number,
): Promise<Dictionary[]> {
  if (maxValues <= 0) return [];
  const members = [...(await existingMembers(session, new Set(staged.map((copy) => copy.table))))];
  for (const copy of staged) members.push(...(await stagedMembers(session, copy)));
  const dictionaries: Dictionary[] = [];
  for (const group of groupsOf(members, links)) {
    if (!worthADictionary(group, maxValues)) continue;
    const values = `SELECT DISTINCT v FROM (${group.map(valuesOf).join(' UNION ALL ')}) WHERE v IS NOT NULL`;
    const labels = Number((await session.query(`SELECT count(*) AS n FROM (${values})`)).rows[0]?.n ?? 0);
    if (labels === 0 || labels > maxValues) continue;
    const type = `${TYPE_PREFIX}${dictionaries.length}`;
    await session.exec(`DROP TYPE IF EXISTS ${type}; CREATE TYPE ${type} AS ENUM (SELECT v FROM (${values}) ORDER BY v)`);
    const columns = group.filter((member) => member.source.kind === 'staged').map(({ table, column }) => ({ table, column }));
    dictionaries.push({ type, labels, columns });
  }
  return dictionaries;
}

/** Drops the types `createDictionaries` made (the copies keep their dictionaries). */
export async function dropDictionaries(session: DuckDbSession, dictionaries: readonly Dictionary[]): Promise<void> {
  for (const dictionary of dictionaries) await session.exec(`DROP TYPE IF EXISTS ${dictionary.type}`);
}
