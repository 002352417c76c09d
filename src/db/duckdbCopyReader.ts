import { resolve } from 'node:path';
import { DuckDbDriver, fileIdOf } from './duckdbDriver.js';

interface OpenCopy {
  /** `fileIdOf` the path when it was opened; null if there was no file. */
  fileId: string | null;
  driver: Promise<DuckDbDriver>;
}

/**
 * The analytics copy as its readers (`qo.hybrid`, the service) see it: one read-only driver, reopened when
 * `qopt duckdb sync` has renamed a new file into place (another inode), so a re-sync reaches a running service.
 * The driver it replaces closes when the work still running on it ends.
 */
export class DuckDbCopyReader {
  readonly path: string;
  private current: OpenCopy | undefined;

  constructor(path: string) {
    this.path = resolve(path);
  }

  /** The driver of the file now at the path: the same while the file is unchanged; valid until a sync replaces it and it goes idle. */
  driver(): Promise<DuckDbDriver> {
    // One stat a call (a few µs): a sync renames its new file into place, so the inode tells.
    const fileId = fileIdOf(this.path);
    if (this.current && (this.current.fileId === fileId || fileId === null)) return this.current.driver;
    const previous = this.current;
    const opening: OpenCopy = { fileId, driver: DuckDbDriver.open(this.path, { readOnly: true }) };
    this.current = opening;
    // A failed open is not kept: the next call tries again (the file may appear with the first sync).
    opening.driver.catch(() => {
      if (this.current === opening) this.current = undefined;
    });
    if (previous) void previous.driver.then((driver) => driver.retire(), () => undefined);
    return opening.driver;
  }

  /** Runs `work` on the current copy, kept open until `work` ends even if a sync replaces the file meanwhile. */
  async use<T>(work: (driver: DuckDbDriver) => Promise<T>): Promise<T> {
    for (;;) {
      const driver = await this.driver();
      // Retired and closed between its open and now: a newer copy is current.
      if (!driver.isClosed) return driver.use(work);
    }
  }

  /** Closes the current driver. */
  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (current) await (await current.driver.catch(() => undefined))?.close();
  }
}
