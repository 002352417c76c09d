import { ResultTooLargeError } from './errors.js';

/** Per-query limits on what a result may hold. */
export interface ResultLimits {
  maxRows: number;
  maxBytes: number;
}

// Estimating bytes costs a serialization; below this many rows a result cannot reach any sane byte limit.
const ROWS_BEFORE_BYTE_ESTIMATE = 1000;
const SAMPLE_ROWS = 100;

/** Throws ResultTooLargeError when `rows` is over a limit; bytes are estimated from a sample of rows. */
export function checkResultSize(rows: readonly unknown[], limits: ResultLimits): void {
  if (rows.length > limits.maxRows) throw new ResultTooLargeError(`${limits.maxRows} rows (executor.maxResultRows)`);
  if (rows.length < ROWS_BEFORE_BYTE_ESTIMATE) return;
  let sampleBytes = 0;
  const step = Math.max(1, Math.floor(rows.length / SAMPLE_ROWS));
  let sampled = 0;
  for (let index = 0; index < rows.length; index += step) {
    sampleBytes += JSON.stringify(rows[index], (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)).length;
    sampled += 1;
  }
  const estimate = (sampleBytes / sampled) * rows.length;
  if (estimate > limits.maxBytes) {
    throw new ResultTooLargeError(`${Math.round(limits.maxBytes / 1048576)} MB (executor.memoryLimitPerQueryMb; estimated ${Math.round(estimate / 1048576)} MB)`);
  }
}
