import type { QueryResultSet } from '../db/driver.js';

function canonical(value: unknown): unknown {
  if (value instanceof Date) return `date:${value.toISOString()}`;
  if (Buffer.isBuffer(value)) return `bytes:${value.toString('hex')}`;
  return value;
}

/** The rows of a result as sorted canonical strings (values by position): equal bags give equal arrays. */
export function bagOf(result: QueryResultSet): string[] {
  return result.rows.map((row) => JSON.stringify(Object.values(row).map(canonical))).sort();
}

/** Whether two results hold the same columns and the same multiset of rows; with a reason when not. */
export function sameBag(left: QueryResultSet, right: QueryResultSet): { equal: true } | { equal: false; reason: string } {
  const leftColumns = left.fields.map((field) => field.name).join(',');
  const rightColumns = right.fields.map((field) => field.name).join(',');
  if (leftColumns !== rightColumns) return { equal: false, reason: `columns differ: (${leftColumns}) vs (${rightColumns})` };
  if (left.rows.length !== right.rows.length) return { equal: false, reason: `${left.rows.length} rows vs ${right.rows.length} rows` };
  const a = bagOf(left);
  const b = bagOf(right);
  const index = a.findIndex((row, position) => row !== b[position]);
  return index < 0 ? { equal: true } : { equal: false, reason: `row differs: ${a[index]} vs ${b[index]}` };
}
