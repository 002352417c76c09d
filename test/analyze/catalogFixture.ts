import { Catalog } from '../../src/analyze/catalog.js';
import type { CatalogTable } from '../../src/analyze/catalog.js';

function table(name: string, columns: Array<[string, string, boolean]>, extra: Partial<CatalogTable>): CatalogTable {
  return {
    name,
    schema: 'public',
    columns: columns.map(([column, type, notNull]) => ({ name: column, type, notNull })),
    primaryKey: ['id'],
    uniqueKeys: [['id']],
    indexes: [{ name: `${name}_pkey`, columns: ['id'], unique: true, partial: false }],
    estimatedRows: 1000,
    ...extra,
  };
}

/** Catalog facts of a small made-up schema, as `loadCatalog` would read them from a live database. */
export const fixtureCatalog = new Catalog(
  new Map([
    ['cells', table('cells', [
      ['id', 'bigint', true], ['sheet_id', 'bigint', true], ['tab_id', 'bigint', true], ['row_id', 'bigint', true], ['versioned_column_id', 'integer', true],
      ['content', 'jsonb', false], ['answer', 'text', false], ['answer_numeric', 'numeric(12,2)', false], ['answer_date', 'date', false],
      ['not_found', 'boolean', true], ['updated_at', 'timestamp with time zone', true],
    ], { estimatedRows: 3_000_000 })],
    ['users', table('users', [['id', 'bigint', true], ['email', 'text', true], ['name', 'text', false], ['created_at', 'timestamp with time zone', true]], {
      estimatedRows: 1_000_000,
      indexes: [{ name: 'users_pkey', columns: ['id'], unique: true, partial: false }, { name: 'users_email', columns: ['email'], unique: true, partial: false }, { name: 'users_created', columns: ['created_at'], unique: false, partial: false }],
      uniqueKeys: [['id'], ['email']],
    })],
    ['orders', table('orders', [['id', 'bigint', true], ['user_id', 'bigint', true], ['coupon_user_id', 'bigint', false], ['total', 'numeric', true]], { estimatedRows: 500_000 })],
    ['tags', table('tags', [['id', 'bigint', true], ['name', 'text', true]], { estimatedRows: 50 })],
  ]),
);
