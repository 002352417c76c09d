import { QoptError } from '../errors.js';

/** The advisor cannot evaluate a workload: no usable statement, or the database refused the what-if session. */
export class AdvisorError extends QoptError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ADVISOR_FAILED', message, options);
  }
}

/** Applying an index failed (lock timeout, build error); any invalid leftover has been dropped. */
export class IndexApplyError extends QoptError {
  readonly indexName: string;

  constructor(indexName: string, message: string, options?: { cause?: unknown }) {
    super('INDEX_APPLY_FAILED', `cannot create index ${indexName}: ${message}`, options);
    this.indexName = indexName;
  }
}
