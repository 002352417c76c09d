import { QoptError } from '../errors.js';

/** Edge-case data for a differential check could not be generated (a constraint qopt cannot satisfy, say). */
export class EdgeDataError extends QoptError {
  constructor(table: string, cause: unknown) {
    super('REWRITE_EDGE_DATA', `cannot generate edge-case rows for ${table}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
