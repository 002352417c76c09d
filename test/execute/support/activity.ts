import pg from 'pg';
import { DATABASE_URL } from '../../support/postgres.js';

/** Rows of pg_stat_activity (other than this connection) whose query text contains `marker`. */
export async function activeWithMarker(marker: string): Promise<Array<{ pid: number; state: string; query: string }>> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const result = await client.query<{ pid: number; state: string; query: string }>(
      "SELECT pid, state, query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%' || $1 || '%' AND query NOT LIKE '%pg_stat_activity%'",
      [marker],
    );
    return result.rows;
  } finally {
    await client.end();
  }
}

/** Waits until a statement containing `marker` is running on the server and returns its backend pid. */
export async function waitForActive(marker: string): Promise<number> {
  for (;;) {
    const rows = await activeWithMarker(marker);
    if (rows.length > 0) return rows[0]!.pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Terminates a backend (pg_terminate_backend), as an administrator or a failover would. */
export async function terminateBackend(pid: number): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await client.end();
  }
}
