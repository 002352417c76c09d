import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The real PostgreSQL server the integration tests use. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema of its own for one test file, and a connection URL whose search_path points at it. */
export interface TestSchema {
  name: string;
  /** DATABASE_URL with `options=-c search_path=<schema>`. */
  url: string;
  drop(): Promise<void>;
}

/** Creates a fresh schema on the real server; `drop()` removes it and everything in it. */
export async function createTestSchema(prefix = 'qopt_test'): Promise<TestSchema> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    name,
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
