import { QoptError } from '../errors.js';

/** A cache operation the caller asked for cannot be done (for example a pattern on a tier that cannot match it). */
export class CacheUsageError extends QoptError {
  constructor(message: string) {
    super('CACHE_USAGE', message);
  }
}

/** Change capture could not be installed or removed; the message names the table and the server's reason. */
export class CaptureError extends QoptError {
  constructor(message: string, cause?: unknown) {
    super('CACHE_CAPTURE', message, { cause });
  }
}

/** A Redis call of the shared tier did not answer within `redis.commandTimeoutMs`; the cache treats it as a miss. */
export class RedisTimeoutError extends QoptError {
  constructor(timeoutMs: number) {
    super('REDIS_TIMEOUT', `Redis did not answer within ${timeoutMs} ms`);
  }
}
