import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from './errors.js';

/** The bearer token of a request, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Checks bearer tokens against the configured one. Digests are compared, so the comparison takes
 * the same time whatever the lengths; the expected digest is computed once.
 */
export class TokenCheck {
  private readonly expected: Buffer | undefined;

  constructor(token: string | undefined) {
    this.expected = token === undefined ? undefined : digestOf(token);
  }

  /**
   * Throws 401 unless the request carries the token. With no token configured, endpoints that change
   * state or run SQL stay closed: an operator must choose one (QOPT_API_TOKEN) to open them.
   */
  assert(request: FastifyRequest): void {
    if (!this.expected) throw new UnauthorizedError('this endpoint needs a bearer token, and the server has none configured (set QOPT_API_TOKEN)');
    const given = bearerToken(request);
    if (!given) throw new UnauthorizedError('missing bearer token: send Authorization: Bearer <QOPT_API_TOKEN>');
    if (!timingSafeEqual(digestOf(given), this.expected)) throw new UnauthorizedError('invalid bearer token');
  }

  /**
   * The rate-limit key of a request: the configured token gets its own bucket; anything else (no token,
   * or one made up per request to dodge the limit) is keyed by the client's address.
   */
  rateLimitKey(request: FastifyRequest): string {
    const given = bearerToken(request);
    if (this.expected && given && timingSafeEqual(digestOf(given), this.expected)) return 'token:configured';
    return `ip:${request.ip}`;
  }
}
