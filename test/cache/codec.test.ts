import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { EntryCodec, estimatedEncodedBytes } from '../../src/cache/codec.js';
import type { StoredEntry } from '../../src/cache/codec.js';
import { cacheKeyOf } from '../../src/cache/keys.js';
import { canonicalScopeValue, readDependencies, writeBumps } from '../../src/cache/dependencies.js';
import { analyzeSql } from '../../src/sql/analyze.js';
import { DATABASE_URL } from '../support/postgres.js';

let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
});

afterAll(async () => {
  await client.end();
});

function entryOf(rows: unknown[]): StoredEntry {
  return { result: { rows: rows as Record<string, unknown>[], rowCount: rows.length, fields: [], command: 'SELECT' }, snapshot: [1, 2], epoch: 'e', expiresAt: 1, staleUntil: 0, costMs: 1 };
}

describe('EntryCodec', () => {
  it('round-trips exactly what pg returns: Date, int8, numeric, bytea, json, arrays, nulls', async () => {
    const { rows } = await client.query(`SELECT now() AS ts, '2024-02-29'::date AS d, 9007199254740993::int8 AS big, 12.3400::numeric AS num,
      '\\xdeadbeef'::bytea AS bin, '{"a":[1,{"b":null}]}'::jsonb AS doc, ARRAY[1,NULL,3] AS arr, NULL::text AS nothing, 1.5::float8 AS f`);
    for (const compression of [false, true]) {
      const codec = new EntryCodec(compression, 0);
      const decoded = codec.decode(codec.encode(entryOf(rows)));
      expect(decoded.result.rows).toEqual(rows);
      const row = decoded.result.rows[0]!;
      expect(row.ts).toBeInstanceOf(Date);
      expect(Buffer.isBuffer(row.bin)).toBe(true);
      expect(row.big).toBe('9007199254740993');
      expect(row.num).toBe('12.3400');
    }
  });

  it('compresses large results and leaves small ones raw', () => {
    const codec = new EntryCodec(true, 1024);
    const big = codec.encode(entryOf(Array.from({ length: 500 }, (_, i) => ({ id: i, text: 'same text again and again' }))));
    const small = codec.encode(entryOf([{ id: 1 }]));
    expect(big[0]).toBe(1);
    expect(small[0]).toBe(0);
  });
});

describe('estimatedEncodedBytes (what L1 counts when memory is the only tier)', () => {
  it('stays within a small factor of the encoded size, on the large side for many rows', async () => {
    const codec = new EntryCodec(false, 0);
    for (const count of [1, 100, 1000]) {
      const { rows, fields, rowCount, command } = await client.query(
        `SELECT g AS id, 'label ' || g AS label, g * 1.25::numeric(12,2) AS amount, timestamptz '2024-01-01' + g * interval '1 minute' AS at, NULL::text AS note
         FROM generate_series(1, $1::int) g`,
        [count],
      );
      const result = { rows, fields, rowCount: rowCount ?? rows.length, command };
      const encoded = codec.encode({ ...entryOf([]), result }).length;
      const estimated = estimatedEncodedBytes(result);
      expect(estimated).toBeGreaterThanOrEqual(encoded * 0.7);
      expect(estimated).toBeLessThanOrEqual(encoded * 3);
      if (count >= 100) expect(estimated).toBeGreaterThanOrEqual(encoded);
    }
  });

  it('counts binary data by its length', () => {
    expect(estimatedEncodedBytes({ rows: [{ bin: Buffer.alloc(100_000) }] })).toBeGreaterThan(100_000);
  });
});

describe('cache keys and dependencies', () => {
  it('gives different keys to different LIMIT/OFFSET values, parameter types and scopes', () => {
    const limit5 = cacheKeyOf('db', analyzeSql('select * from t limit 5'), []);
    const limit5offset = cacheKeyOf('db', analyzeSql('select * from t limit 5 offset 10'), []);
    expect(limit5).not.toBe(limit5offset);
    const sql = analyzeSql('select * from t where id = $1');
    expect(cacheKeyOf('db', sql, [1])).not.toBe(cacheKeyOf('db', sql, ['1']));
    expect(cacheKeyOf('postgres://alice@h/db', sql, [1])).not.toBe(cacheKeyOf('postgres://bob@h/db', sql, [1]));
  });

  it('treats only forms that cannot denote the same value differently as distinct row scopes', () => {
    expect(canonicalScopeValue('007')).toBe('7');
    expect(canonicalScopeValue(7)).toBe('7');
    expect(canonicalScopeValue('7.0')).toBe('7');
    expect(canonicalScopeValue('ABC')).toBe('abc');
    expect(canonicalScopeValue('2024-01-01')).toBeNull();
    expect(canonicalScopeValue(1.5)).toBeNull();
  });

  it('confines a primary-key update to its row, and falls back to the table for joins and unknown parameters', () => {
    const read = readDependencies(analyzeSql('SELECT a FROM t WHERE id = 7'), []);
    expect(read).toContainEqual({ add: 'v:t:id:7' });
    expect(writeBumps(analyzeSql('UPDATE t SET b = 1 WHERE id = 5'))).toEqual(expect.arrayContaining(['t:t', 'c:t:b', 's:t:id', 'v:t:id:5']));
    expect(writeBumps(analyzeSql('UPDATE t SET b = 1 WHERE id = $1'))).not.toContain('s:t:id');
    expect(writeBumps(analyzeSql('UPDATE t SET b = 1 WHERE id = $1'), [5])).toContain('v:t:id:5');
    expect(writeBumps(analyzeSql('DO $$ BEGIN END $$'))).toContain('all');
  });
});
