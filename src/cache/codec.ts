import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Packr } from 'msgpackr';
import type { QueryResultSet } from '../db/driver.js';

/** A cached result with what decides whether it may still be served. */
export interface StoredEntry {
  result: QueryResultSet;
  /** Generation values of the entry's dependencies when its database read started. */
  snapshot: number[];
  /** Epoch of the generation source the snapshot came from (a process epoch, or 'redis'). */
  epoch: string;
  /** Milliseconds since 1970 after which the entry is expired. */
  expiresAt: number;
  /** Until then an expired entry may be served while one refresh runs (0 = never). */
  staleUntil: number;
  /** How long the database read took: the time a hit saves. */
  costMs: number;
}

const RAW = 0;
const DEFLATED = 1;

/**
 * msgpackr with records: exact round-trip of what `pg` returns (Date, Buffer, int8/numeric strings,
 * json objects, arrays, nulls). Above a threshold the bytes are deflated with node:zlib.
 */
export class EntryCodec {
  private readonly packr = new Packr({ useRecords: true, moreTypes: true, structuredClone: false });

  constructor(
    private readonly compression: boolean,
    private readonly thresholdBytes: number,
  ) {}

  /** Bytes of an entry: one header byte (raw or deflated) then msgpack. */
  encode(entry: StoredEntry): Buffer {
    const packed = this.packr.pack(entry);
    if (this.compression && packed.length > this.thresholdBytes) {
      const deflated = deflateRawSync(packed, { level: 1 });
      if (deflated.length < packed.length) return Buffer.concat([Buffer.of(DEFLATED), deflated]);
    }
    return Buffer.concat([Buffer.of(RAW), packed]);
  }

  /** The entry back, exactly as it was encoded. */
  decode(bytes: Buffer): StoredEntry {
    const body = bytes.subarray(1);
    const packed = bytes[0] === DEFLATED ? inflateRawSync(body) : body;
    return this.packr.unpack(packed) as StoredEntry;
  }
}

/** Freezes a result so an L1 hit can hand out the same object: rows, arrays and json values; Buffers and Dates are left as they are. */
export function freezeResult<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  for (const inner of Object.values(value)) freezeResult(inner);
  return Object.freeze(value);
}
