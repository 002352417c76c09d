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

/**
 * About what `EntryCodec.encode` would write for a result, without encoding it: what L1 is bounded by
 * when memory is the only tier the result goes to. Strings count their length (UTF-16 units); the
 * keys of the objects in an array count once, as msgpackr's records write them once.
 */
export function estimatedEncodedBytes(value: unknown, countKeys = true): number {
  switch (typeof value) {
    case 'string':
      return value.length + 3;
    case 'number':
      return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? 5 : 9;
    case 'bigint':
      return 17;
    case 'boolean':
      return 1;
    case 'object': {
      if (value === null) return 1;
      if (value instanceof Date) return 12;
      if (ArrayBuffer.isView(value)) return value.byteLength + 5;
      let total = 5;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i += 1) total += estimatedEncodedBytes(value[i], i === 0);
        return total;
      }
      for (const key in value) total += (countKeys ? key.length + 2 : 0) + estimatedEncodedBytes((value as Record<string, unknown>)[key]);
      return total;
    }
    default:
      return 1;
  }
}
