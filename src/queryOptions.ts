/** Per-call cache settings of `qo.query`. */
export interface QueryCacheOptions {
  /** Time-to-live of this result (default: `cache.defaultTtlSeconds`). */
  ttlSeconds?: number;
  /** Labels to invalidate this result by (`qo.cache.invalidateTag`). */
  tags?: readonly string[];
  /** After the TTL, serve the old result this long while one refresh runs — never across a committed write. */
  staleWhileRevalidateSeconds?: number;
}

/** The optional third argument of `qo.query`. */
export interface QueryOptions {
  /** `false` bypasses the cache for this call; an object tunes it. */
  cache?: false | QueryCacheOptions;
}
