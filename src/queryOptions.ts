/** Per-call cache settings of `qo.query`. */
export interface QueryCacheOptions {
  /** Time-to-live of this result (default: `cache.defaultTtlSeconds`). */
  ttlSeconds?: number;
  /** Labels to invalidate this result by (`qo.cache.invalidateTag`). */
  tags?: readonly string[];
  /** After the TTL, serve the old result this long while one refresh runs — never across a committed write. */
  staleWhileRevalidateSeconds?: number;
  /**
   * The role the statement runs as when it is not the connection's own (`SET LOCAL ROLE`, as the
   * service's `POST /query` does): results are kept apart per role, so no role is served what another read.
   */
  role?: string;
  /**
   * The statement timeout the caller ran the statement under when it chose its own (as `POST /query` does). It
   * does not change the key; it keeps warm-up, which runs under the executor's timeouts, from re-running it.
   */
  statementTimeoutMs?: number;
}

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
  /** `false` bypasses the result cache for this call; an object tunes it. */
  cache?: false | QueryCacheOptions;
}
