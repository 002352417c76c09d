import type { DriverSession } from '../db/driver.js';
import { quoteQualified } from './indexCandidate.js';

/** The table every advisor action is written to, with its evidence. */
export const DEFAULT_HISTORY_TABLE = 'qopt_index_history';

/** One action of the advisor: created, kept, dropped after validation, failed. */
export interface HistoryEntry {
  action: 'created' | 'kept' | 'dropped' | 'failed' | 'cleaned';
  indexName: string;
  table: string;
  definition: string;
  evidence: Record<string, unknown>;
}

/** Creates the history table if it is missing. */
export async function ensureHistoryTable(session: DriverSession, table = DEFAULT_HISTORY_TABLE): Promise<void> {
  await session.query(`CREATE TABLE IF NOT EXISTS ${quoteQualified(table)} (
    id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), action text NOT NULL,
    index_name text NOT NULL, table_name text NOT NULL, definition text NOT NULL, evidence jsonb NOT NULL)`);
}

/** Appends one action. */
export async function recordHistory(session: DriverSession, entry: HistoryEntry, table = DEFAULT_HISTORY_TABLE): Promise<void> {
  await session.query(
    `INSERT INTO ${quoteQualified(table)} (action, index_name, table_name, definition, evidence) VALUES ($1, $2, $3, $4, $5)`,
    [entry.action, entry.indexName, entry.table, entry.definition, JSON.stringify(entry.evidence)],
  );
}

/** The history, newest first. */
export async function readHistory(session: DriverSession, table = DEFAULT_HISTORY_TABLE): Promise<Array<HistoryEntry & { at: Date }>> {
  const result = await session.query<{ at: Date; action: HistoryEntry['action']; index_name: string; table_name: string; definition: string; evidence: Record<string, unknown> }>(
    `SELECT at, action, index_name, table_name, definition, evidence FROM ${quoteQualified(table)} ORDER BY id DESC`,
  );
  return result.rows.map((row) => ({ at: row.at, action: row.action, indexName: row.index_name, table: row.table_name, definition: row.definition, evidence: row.evidence }));
}
