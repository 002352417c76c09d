/** How the executor schedules a query: high runs first, low never starves (its wait ages it upwards). */
export type QueryPriority = 'high' | 'normal' | 'low';

/** Per-call options of `qo.query(sql, params, options)`. */
export interface QueryOptions {
  /** Scheduling class under saturation; default 'normal'. */
  priority?: QueryPriority;
  /** Whose quota the query counts against; no user → no quota. */
  user?: string;
  /** Cancels the statement on the server after this long; default executor.queryTimeoutSeconds. */
  timeoutMs?: number;
  /** The caller vouches that running the statement twice is harmless: a write may then be retried. */
  idempotent?: boolean;
  /** Read-your-writes scope: reads in a session that wrote go to the primary or a replica that replayed the write. Default: `user`. */
  session?: string;
}
