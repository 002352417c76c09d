import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The real PostgreSQL server the integration tests use. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs `work` on a connection of its own to `url` (default: the admin database), closed afterwards. */
export async function withClient<T>(work: (client: pg.Client) => Promise<T>, url: string = DATABASE_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs SQL on a connection of its own and publishes its statistics at once (as PostgreSQL does within a second). */
export function runElsewhere(url: string, sql: string): Promise<void> {
  return withClient(async (client) => {
    await client.query(sql);
    await client.query('SELECT pg_stat_force_next_flush()');
  }, url);
}

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
