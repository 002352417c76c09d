import { quoteIdentifier } from '../../indexCandidate.js';
import type { HealthCheck } from '../check.js';
import { findRedundantIndexes, readIndexes } from '../redundantIndexes.js';

/** Duplicate and prefix-covered indexes (opclass, collation, direction, predicate, expressions and uniqueness respected). */
export const duplicateIndexesCheck: HealthCheck = {
  id: 'duplicate-indexes',
  description: 'indexes another index already serves (identical, or a key prefix of it)',
  async run({ session, schemas }) {
    const redundant = findRedundantIndexes(await readIndexes(session, schemas));
    return redundant.map(({ index, coveredBy, kind }) => ({
      check: 'duplicate-indexes',
      severity: 'warning' as const,
      object: index.name,
      message: `${index.name} is ${kind === 'duplicate' ? 'a duplicate of' : 'a prefix of'} ${coveredBy.name} (${(index.bytes / 1048576).toFixed(1)} MiB, slows every write)`,
      threshold: 'any redundant index',
      remediation: `DROP INDEX CONCURRENTLY IF EXISTS ${index.name.split('.').map(quoteIdentifier).join('.')};`,
    }));
  },
};
