import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

// Bearer tokens. Compared as SHA-256 digests in constant time, so neither the
// length nor a prefix of a valid token leaks through timing. Responses never
// repeat what the client sent.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without a token even when auth is on (health, the page's static files). */
    public?: boolean;
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function authHook(tokens: readonly string[]) {
  const valid = tokens.map(digest);
  return async (req: FastifyRequest) => {
    if (valid.length === 0 || req.routeOptions.config?.public) return;
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (!m) throw new ApiError('UNAUTHORIZED', 'authorization: a bearer token is required (Authorization: Bearer <token>)', { param: 'authorization' });
    const got = digest(m[1] as string);
    if (!valid.some((v) => timingSafeEqual(v, got))) throw new ApiError('FORBIDDEN', 'authorization: the token is not valid', { param: 'authorization' });
  };
}
