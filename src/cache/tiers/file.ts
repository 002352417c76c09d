import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { emptyTierStats } from './memory.js';
import type { TierStats } from './memory.js';

const SUFFIX = '.qc';

/**
 * L3: one file per entry in a local directory, bounded in bytes (least recently used files are
 * deleted). It survives restarts; whether an old entry may still be served is decided by its
 * generation snapshot, not by this tier.
 */
export class FileTier {
  readonly stats = emptyTierStats();
  private readonly index: LRUCache<string, number>;

  constructor(
    private readonly directory: string,
    maxBytes: number,
  ) {
    mkdirSync(directory, { recursive: true });
    this.index = new LRUCache<string, number>({
      maxSize: Math.max(1, Math.floor(maxBytes)),
      sizeCalculation: (size) => Math.max(1, size),
      dispose: (_size, name, reason) => {
        if (reason === 'set') return;
        if (reason === 'evict') this.stats.evictions += 1;
        unlink(join(this.directory, name)).catch(() => undefined);
      },
    });
    const files = readdirSync(directory)
      .filter((name) => name.endsWith(SUFFIX))
      .map((name) => ({ name, stat: statSync(join(directory, name)) }))
      .sort((a, b) => a.stat.mtimeMs - b.stat.mtimeMs);
    for (const file of files) this.index.set(file.name, file.stat.size);
  }

  private fileOf(key: string): string {
    return createHash('sha1').update(key).digest('hex') + SUFFIX;
  }

  /** The entry bytes stored under a key, or null. */
  async get(key: string): Promise<Buffer | null> {
    const name = this.fileOf(key);
    if (this.index.get(name) === undefined) return null;
    try {
      const content = await readFile(join(this.directory, name));
      const keyLength = content.readUInt32LE(0);
      // Two keys with one hash: the file holds the full key, and only that key may read it.
      if (content.toString('utf8', 4, 4 + keyLength) !== key) return null;
      return content.subarray(4 + keyLength);
    } catch {
      this.index.delete(name);
      this.stats.errors += 1;
      return null;
    }
  }

  /** Writes an entry (to a temporary file renamed into place, so a crash never leaves half an entry). */
  async set(key: string, bytes: Buffer): Promise<void> {
    const name = this.fileOf(key);
    const keyBytes = Buffer.from(key, 'utf8');
    const header = Buffer.alloc(4);
    header.writeUInt32LE(keyBytes.length, 0);
    const content = Buffer.concat([header, keyBytes, bytes]);
    if (content.length > this.index.maxSize) return;
    const temporary = join(this.directory, `${name}.${process.pid}.tmp`);
    try {
      await writeFile(temporary, content);
      await rename(temporary, join(this.directory, name));
      this.index.set(name, content.length);
      this.stats.stores += 1;
    } catch {
      this.stats.errors += 1;
    }
  }

  /** Removes one key. */
  delete(key: string): void {
    this.index.delete(this.fileOf(key));
  }

  /** Removes every entry whose key matches; the key is read from each file. */
  async deleteWhere(match: (key: string) => boolean): Promise<number> {
    let removed = 0;
    for (const name of [...this.index.keys()]) {
      try {
        const content = await readFile(join(this.directory, name));
        const key = content.toString('utf8', 4, 4 + content.readUInt32LE(0));
        if (match(key)) {
          this.index.delete(name);
          removed += 1;
        }
      } catch {
        this.index.delete(name);
      }
    }
    return removed;
  }

  /** Deletes every entry. */
  clear(): void {
    this.index.clear();
  }

  /** Stats with the current size. */
  snapshotStats(): TierStats {
    return { ...this.stats, bytes: this.index.calculatedSize, entries: this.index.size };
  }
}
