import { describe, expect, it } from 'vitest';
import { generateCandidates } from '../../src/advise/candidates.js';
import { createIndexStatement } from '../../src/advise/indexCandidate.js';
import { tableAccesses } from '../../src/advise/queryShape.js';
import { analyzeSql } from '../../src/sql/analyze.js';

const COLUMNS: Record<string, string[]> = {
  users: ['id', 'email', 'deleted', 'organization_id', 'role', 'created_at'],
  docs: ['id', 'doc', 'title'],
  cells: ['id', 'sheet_id', 'tab_id', 'row_id', 'versioned_column_id', 'updated_at', 'answer'],
  rows: ['id', 'sheet_id', 'tab_id', 'deleted', 'y_value'],
};

function definitions(sql: string, trigram = true): string[] {
  const accesses = tableAccesses(analyzeSql(sql).statements.map((statement) => statement.ast));
  const candidates = generateCandidates(accesses, {
    maxKeyColumns: 3,
    maxWindowKeyColumns: 5,
    maxIncludeColumns: 5,
    trigram,
    columnsOf: (table) => (COLUMNS[table] ? new Set(COLUMNS[table]) : undefined),
  });
  return candidates.map((candidate) => createIndexStatement(candidate, 'x', false).replace('CREATE INDEX x ', ''));
}

describe('index candidates from the SQL layer', () => {
  it('orders composite keys equality → range → sort and keeps DESC', () => {
    const found = definitions('SELECT id FROM users WHERE organization_id = $1 AND created_at >= $2 ORDER BY created_at DESC LIMIT 10');
    expect(found).toContain('ON users (organization_id, created_at)');
    expect(found).toContain('ON users (organization_id, created_at DESC)');
    expect(found).toContain('ON users (organization_id, created_at DESC) INCLUDE (id)');
  });

  it('makes a partial index of a constant predicate and an expression index of lower(email)', () => {
    const found = definitions('SELECT id, role FROM users u WHERE lower(u.email) = $1 AND u.deleted IS NOT TRUE');
    expect(found).toContain('ON users ((lower(email)))');
    expect(found).toContain('ON users ((lower(email))) WHERE deleted IS NOT TRUE');
    expect(found).toContain('ON users ((lower(email))) INCLUDE (deleted, email, id, role) WHERE deleted IS NOT TRUE');
  });

  it('proposes GIN for jsonb containment always and for LIKE %…% only where pg_trgm exists', () => {
    expect(definitions("SELECT id FROM docs WHERE doc @> $1 AND title LIKE '%abc%'")).toEqual(
      expect.arrayContaining(['ON docs USING gin (doc)', 'ON docs USING gin (title gin_trgm_ops)']),
    );
    expect(definitions("SELECT id FROM docs WHERE title LIKE '%abc%'", false).some((definition) => definition.includes('gin'))).toBe(false);
  });

  it('derives the latest-lookup composite from a window inside a CTE, resolving aliases', () => {
    const sql = `WITH latest AS (SELECT * FROM (SELECT c.*, row_number() OVER (PARTITION BY c.row_id, c.versioned_column_id ORDER BY c.updated_at DESC) AS rn
      FROM cells c WHERE c.sheet_id = $1 AND c.tab_id = $2) ranked WHERE rn = 1)
      SELECT r.id FROM rows r JOIN latest l ON l.row_id = r.id WHERE r.sheet_id = $1 AND r.tab_id = $2 AND (r.deleted IS NULL OR r.deleted = false)`;
    const found = definitions(sql);
    expect(found).toContain('ON cells (sheet_id, tab_id, row_id, versioned_column_id, updated_at DESC)');
    expect(found).toContain('ON rows (sheet_id, tab_id) WHERE deleted IS NULL OR deleted = false');
  });

  it('never names a column the table does not have, and gives the same list for the same text', () => {
    const sql = 'SELECT * FROM users WHERE nonexistent = $1 AND role = $2';
    expect(definitions(sql)).toEqual(['ON users (role)']);
    expect(definitions(sql)).toEqual(definitions(sql));
  });
});
