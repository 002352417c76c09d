import { hashMod } from './workload.js';
import type { Workload } from './workload.js';

const SHEETS = 20;
const TABS_PER_SHEET = 2;
const COLUMNS = 10;
const VERSIONS = 3;
const ROWS_PER_TAB_AT_SCALE_1 = 2500;

/** The latest version of every cell of a tab, by window function: the seed's `_latest_cells_query`. */
const LATEST_CELLS_CTE = `
  SELECT id, row_id, versioned_column_id, content, answer, answer_numeric, answer_date, not_found, updated_at
  FROM (
    SELECT c.*, row_number() OVER (PARTITION BY c.row_id, c.versioned_column_id ORDER BY c.updated_at DESC) AS rn
    FROM cells c
    WHERE c.sheet_id = $1 AND c.tab_id = $2
  ) ranked
  WHERE rn = 1`;

/** The (sheet_id, tab_id) parameters of a tab. */
function tabParams(tab: number): [number, number] {
  return [Math.floor((tab - 1) / TABS_PER_SHEET) + 1, tab];
}

/** sheets-service-plan.md: versioned cells, window-function "latest" lookups, one self-join per filter. */
export const sheetsWorkload: Workload = {
  name: 'sheets',
  description: 'Spreadsheet service: tabs of rows, versioned cells, latest-value lookups and multi-column filters',
  seed: 'sheets-service-plan.md',
  tables: ['sheets', 'tabs', 'rows', 'cells'],
  schemaSql: `
    CREATE TABLE sheets (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL);
    CREATE TABLE tabs (id bigint PRIMARY KEY, sheet_id bigint NOT NULL, name text NOT NULL);
    CREATE TABLE rows (
      id bigint PRIMARY KEY, sheet_id bigint NOT NULL, tab_id bigint NOT NULL, y_value integer NOT NULL,
      row_order double precision NOT NULL, deleted boolean, repo_doc_id bigint, created_at timestamptz NOT NULL
    );
    CREATE TABLE cells (
      id bigint PRIMARY KEY, sheet_id bigint NOT NULL, tab_id bigint NOT NULL, row_id bigint NOT NULL,
      versioned_column_id integer NOT NULL, content jsonb, answer text, answer_numeric numeric(12,2),
      answer_date date, not_found boolean NOT NULL DEFAULT false, updated_at timestamptz NOT NULL
    );`,
  seedIndexes: [
    'CREATE INDEX ix_cells_latest_lookup ON cells (sheet_id, tab_id, row_id, versioned_column_id, updated_at DESC)',
    'CREATE INDEX ix_cells_latest_with_content ON cells (sheet_id, tab_id, row_id, versioned_column_id, updated_at DESC) INCLUDE (content, answer, answer_numeric, answer_date, not_found)',
    'CREATE INDEX ix_rows_sheet_tab_y_repo_doc ON rows (sheet_id, tab_id, y_value, repo_doc_id) WHERE deleted IS NULL OR deleted = false',
    'CREATE INDEX ix_rows_sheet_tab_order ON rows (sheet_id, tab_id, row_order, y_value) WHERE deleted IS NULL OR deleted = false',
  ],
  sizes(scale) {
    const tabs = SHEETS * TABS_PER_SHEET;
    const rowsPerTab = Math.max(10, Math.round(ROWS_PER_TAB_AT_SCALE_1 * scale));
    const rows = tabs * rowsPerTab;
    return { sheets: SHEETS, tabs, rows, cells: rows * COLUMNS * VERSIONS };
  },
  generators(sizes) {
    const rowsPerTab = sizes.rows! / sizes.tabs!;
    // Cell i belongs to row i / (COLUMNS*VERSIONS); its versions get distinct timestamps in a per-cell random order.
    const cellGroup = `((i - 1) / ${VERSIONS})`;
    const rowOfCell = `((i - 1) / ${COLUMNS * VERSIONS} + 1)`;
    const tabOfRow = (row: string) => `((${row} - 1) / ${rowsPerTab} + 1)`;
    const sheetOfTab = (tab: string) => `((${tab} - 1) / ${TABS_PER_SHEET} + 1)`;
    const versionRank = `(((i - 1) % ${VERSIONS} + ${hashMod(cellGroup, 2, VERSIONS)}) % ${VERSIONS})`;
    return [
      {
        table: 'sheets',
        rows: sizes.sheets!,
        sql: `INSERT INTO sheets SELECT i, 'Sheet ' || i, timestamptz '2024-01-01' + i * interval '1 hour' FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'tabs',
        rows: sizes.tabs!,
        sql: `INSERT INTO tabs SELECT i, ${sheetOfTab('i')}, 'Tab ' || i FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'rows',
        rows: sizes.rows!,
        sql: `INSERT INTO rows
          SELECT i, ${sheetOfTab(tabOfRow('i'))}, ${tabOfRow('i')}, ((i - 1) % ${rowsPerTab})::int,
                 ((i - 1) % ${rowsPerTab}) + ${hashMod('i', 11, 1000)} / 1000.0,
                 CASE ${hashMod('i', 12, 50)} WHEN 0 THEN true WHEN 1 THEN false ELSE NULL END,
                 ${hashMod('i', 13, 100000)},
                 timestamptz '2024-01-01' + i * interval '1 second'
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'cells',
        rows: sizes.cells!,
        sql: `INSERT INTO cells
          SELECT i, ${sheetOfTab(tabOfRow(rowOfCell))}, ${tabOfRow(rowOfCell)}, ${rowOfCell},
                 (((i - 1) / ${VERSIONS}) % ${COLUMNS} + 1)::int,
                 jsonb_build_object('value', 'v' || ${hashMod('i', 21, 40)}, 'source', 'doc-' || ${hashMod('i', 22, 500)}),
                 CASE WHEN ${hashMod('i', 23, 17)} = 0 THEN NULL ELSE 'v' || ${hashMod('i', 21, 40)} END,
                 ${hashMod('i', 24, 1000000)} / 100.0,
                 date '2020-01-01' + ${hashMod('i', 25, 2000)}::int,
                 ${hashMod('i', 26, 20)} = 0,
                 timestamptz '2024-01-01' + (${hashMod(cellGroup, 27, 500000)} + ${versionRank} * 1000) * interval '1 minute'
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
    ];
  },
  queries: [
    {
      name: 'latest_cells',
      description: 'Latest version of every cell of a tab, by row_number() window',
      sql: LATEST_CELLS_CTE.trim(),
      params: (rng, sizes) => tabParams(rng.int(1, sizes.tabs!)),
    },
    {
      name: 'filter_rows_self_join',
      description: 'Rows matching three column filters on latest values, one self-join of the latest cells per filter',
      sql: `WITH latest AS (${LATEST_CELLS_CTE})
SELECT r.id, r.y_value
FROM rows r
JOIN latest f0 ON f0.row_id = r.id AND f0.versioned_column_id = 1 AND f0.answer = $3
JOIN latest f1 ON f1.row_id = r.id AND f1.versioned_column_id = 2 AND f1.answer_numeric BETWEEN $4 AND $5
JOIN latest f2 ON f2.row_id = r.id AND f2.versioned_column_id = 3 AND f2.answer_date >= $6
WHERE r.sheet_id = $1 AND r.tab_id = $2 AND (r.deleted IS NULL OR r.deleted = false)
ORDER BY r.y_value
LIMIT 100`,
      params: (rng, sizes) => {
        const low = rng.int(0, 6000);
        return [...tabParams(rng.int(1, sizes.tabs!)), `v${rng.int(0, 39)}`, low, low + 4000, '2021-01-01'];
      },
    },
    {
      name: 'rows_sorted_by_column',
      description: "Rows of a tab sorted by one column's latest value",
      sql: `WITH latest AS (${LATEST_CELLS_CTE})
SELECT r.id, r.y_value, l.answer_numeric
FROM rows r
LEFT JOIN latest l ON l.row_id = r.id AND l.versioned_column_id = $3
WHERE r.sheet_id = $1 AND r.tab_id = $2 AND (r.deleted IS NULL OR r.deleted = false)
ORDER BY l.answer_numeric DESC NULLS LAST, r.id
LIMIT 100`,
      params: (rng, sizes) => [...tabParams(rng.int(1, sizes.tabs!)), rng.int(1, COLUMNS)],
    },
    {
      name: 'hydrated_page',
      description: 'A page of rows with all their latest cells, hydrated as JSON',
      sql: `WITH page AS (
  SELECT id, y_value, row_order, repo_doc_id FROM rows
  WHERE sheet_id = $1 AND tab_id = $2 AND (deleted IS NULL OR deleted = false)
  ORDER BY row_order
  LIMIT 50 OFFSET $3
), latest AS (${LATEST_CELLS_CTE})
SELECT p.id, p.y_value, p.repo_doc_id,
       jsonb_object_agg(l.versioned_column_id, jsonb_build_object('answer', l.answer, 'numeric', l.answer_numeric, 'content', l.content)) AS cells
FROM page p
JOIN latest l ON l.row_id = p.id
GROUP BY p.id, p.y_value, p.repo_doc_id, p.row_order
ORDER BY p.row_order`,
      params: (rng, sizes) => {
        const rowsPerTab = sizes.rows! / sizes.tabs!;
        return [...tabParams(rng.int(1, sizes.tabs!)), rng.int(0, Math.max(0, Math.floor(rowsPerTab / 50) - 1)) * 50];
      },
    },
  ],
  loops: [],
};
