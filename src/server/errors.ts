import { QoptError } from '../errors.js';

/** A base for errors that become an HTTP answer: `status` and a JSON body. */
export abstract class HttpError extends QoptError {
  abstract readonly status: number;

  /** The JSON body of the answer. */
  body(): Record<string, unknown> {
    return { error: this.code, message: this.message };
  }
}

/** A request body or query string the endpoint's schema rejects; names the field and the reason. */
export class RequestValidationError extends HttpError {
  readonly status = 400;

  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super('VALIDATION_FAILED', `${field}: ${reason}`);
  }

  override body(): Record<string, unknown> {
    return { error: this.code, field: this.field, reason: this.reason, message: this.message };
  }
}

/** A missing or wrong bearer token on an endpoint that changes state or runs SQL. */
export class UnauthorizedError extends HttpError {
  readonly status = 401;

  constructor(reason: string) {
    super('UNAUTHORIZED', reason);
  }
}

/** The endpoint exists, but the capability it exposes is not part of this build yet. */
export class CapabilityUnavailableError extends HttpError {
  readonly status = 501;

  constructor(readonly capability: string) {
    super('CAPABILITY_UNAVAILABLE', `this qopt build has no ${capability} capability yet`);
  }

  override body(): Record<string, unknown> {
    return { error: this.code, capability: this.capability, message: this.message };
  }
}

/** A non-streamed `/query` result above `server.queryMaxRows`. */
export class ResultTooLargeError extends HttpError {
  readonly status = 413;

  constructor(limit: number) {
    super('RESULT_TOO_LARGE', `the result has more than ${limit} rows: ask for it as NDJSON with "stream": true`);
  }
}

/** A resource (an alert, a table) that does not exist. */
export class NotFoundError extends HttpError {
  readonly status = 404;

  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}
