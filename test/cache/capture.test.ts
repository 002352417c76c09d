import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedTables, installCapture, removeCapture } from '../../src/cache/capture/install.js';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { eventually } from './support.js';

let schema: TestSchema;
let qo: Optimizer;

function psql(sql: string): void {
  const url = new URL(schema.url);
  url.searchParams.delete('options');
  execFileSync('psql', [url.toString(), '-v', 'ON_ERROR_STOP=1', '-qc', `SET search_path = ${schema.name}; ${sql}`], { stdio: 'pipe' });
}

beforeAll(async () => {
  schema = await createTestSchema('qopt_cache_capture');
  qo = await createOptimizer({ database: { url: schema.url } });
  await qo.query('CREATE TABLE price (id int PRIMARY KEY, amount numeric)');
  await qo.query('CREATE TABLE other (id int PRIMARY KEY)');
  await qo.query('INSERT INTO price SELECT g, g * 10 FROM generate_series(1, 5) g');
});

afterAll(async () => {
  await qo.close();
  await schema.drop();
});

const byId = 'SELECT amount FROM price WHERE id = $1';

describe('change capture', () => {
  it('invalidates after a psql write once capture is installed on the table', async () => {
    expect(await installCapture(qo.driver, ['price'])).toEqual([`${schema.name}.price`]);
    expect((await qo.query(byId, [1])).rows).toEqual([{ amount: '10' }]);
    const notifications = qo.cache.stats().capture!.notifications;
    psql('UPDATE price SET amount = 11 WHERE id = 1');
    await eventually(() => qo.cache.stats().capture!.notifications > notifications);
    expect((await qo.query(byId, [1])).rows).toEqual([{ amount: '11' }]);
  });

  it('treats every captured table as changed after the listener reconnects (notifications meanwhile are lost)', async () => {
    expect((await qo.query(byId, [2])).rows).toEqual([{ amount: '20' }]);
    const listener = qo.cache.capture!;
    const pid = listener.backendPid;
    const reconnects = listener.stats.reconnects;
    await qo.driver.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually(() => listener.stats.reconnects > reconnects);
    // A write made while the listener is away: its NOTIFY is lost.
    await qo.driver.query('UPDATE price SET amount = 21 WHERE id = 2');
    await eventually(() => listener.isListening && listener.backendPid !== pid);
    expect((await qo.query(byId, [2])).rows).toEqual([{ amount: '21' }]);
  });

  it('removes every trigger and the function completely', async () => {
    await installCapture(qo.driver, ['other']);
    expect(await capturedTables(qo.driver)).toHaveLength(2);
    await removeCapture(qo.driver);
    expect(await capturedTables(qo.driver)).toEqual([]);
    const functions = await qo.driver.query("SELECT 1 FROM pg_proc WHERE proname = 'qopt_capture_notify' AND pronamespace = $1::regnamespace", [schema.name]);
    expect(functions.rowCount).toBe(0);
  });

  it('rejects a table name that is not an identifier', async () => {
    await expect(installCapture(qo.driver, ['price; drop table other'])).rejects.toThrow('is not a table name');
  });
});
