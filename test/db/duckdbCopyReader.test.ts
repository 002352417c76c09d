import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbCopyReader } from '../../src/db/duckdbCopyReader.js';
import { DuckDbDriver } from '../../src/db/duckdbDriver.js';

const dir = mkdtempSync(join(tmpdir(), 'qopt-duckdb-reader-'));

async function writeCopy(path: string, rows: number): Promise<void> {
  const writer = await DuckDbDriver.open(path);
  await writer.exec(`CREATE TABLE t AS SELECT i AS id FROM range(${rows}) r(i)`);
  await writer.close();
}

describe('DuckDbCopyReader', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps one driver while the file is unchanged, and reopens when a new file is renamed into place', async () => {
    const path = join(dir, 'copy.duckdb');
    await writeCopy(path, 3);
    const reader = new DuckDbCopyReader(path);
    try {
      const first = await reader.driver();
      expect(await reader.driver()).toBe(first);
      expect((await first.select('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: '3' }]);

      await writeCopy(join(dir, 'next.duckdb'), 5);
      renameSync(join(dir, 'next.duckdb'), path);
      const second = await reader.driver();
      expect(second).not.toBe(first);
      expect((await second.select('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: '5' }]);
      expect(first.isClosed).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it('lets work running on the replaced file finish there, then closes its driver', async () => {
    const path = join(dir, 'busy.duckdb');
    await writeCopy(path, 3);
    const reader = new DuckDbCopyReader(path);
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const running = reader.use(async (duck) => {
        await held;
        return { duck, rows: (await duck.select('SELECT count(*) AS n FROM t')).rows };
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await writeCopy(join(dir, 'busy-next.duckdb'), 7);
      renameSync(join(dir, 'busy-next.duckdb'), path);
      expect((await reader.use((duck) => duck.select('SELECT count(*) AS n FROM t'))).rows).toEqual([{ n: '7' }]);
      release();
      const { duck, rows } = await running;
      expect(rows).toEqual([{ n: '3' }]);
      expect(duck.isClosed).toBe(true);
    } finally {
      await reader.close();
    }
  });
});
