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

// Comparing digests keeps the comparison constant-time whatever the lengths.
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Checks the bearer token of a request that changes state or runs SQL. With no token configured such
 * endpoints stay closed: an operator must choose one (QOPT_API_TOKEN) to open them.
 */
export function assertAuthorized(request: FastifyRequest, expected: string | undefined): void {
  if (!expected) throw new UnauthorizedError('this endpoint needs a bearer token, and the server has none configured (set QOPT_API_TOKEN)');
  const given = bearerToken(request);
  if (!given) throw new UnauthorizedError('missing bearer token: send Authorization: Bearer <QOPT_API_TOKEN>');
  if (!sameToken(given, expected)) throw new UnauthorizedError('invalid bearer token');
}

/** The rate-limit key of a request: a digest of its token when it has one, else its address. */
export function rateLimitKey(request: FastifyRequest): string {
  const token = bearerToken(request);
  return token ? `token:${createHash('sha256').update(token).digest('hex').slice(0, 16)}` : `ip:${request.ip}`;
}
