import { QoptError } from '../errors.js';

/** A materialized view qopt does not manage, or one that cannot be built from the query given. */
export class MaterializedViewError extends QoptError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MATERIALIZED_VIEW', message, options);
  }
}
