import { backoffMs, DEFAULT_RETRY, sleep } from '../../contract/retry.js';
import { readEvents, type SseEvent } from './sse.js';

// The CLI's HTTP client. Every failure becomes one CliError with a one-line
// message (the API's own message when it sent one), so main.ts prints one
// line and exits non-zero instead of a stack trace.

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** The API said it may succeed later (503 store unavailable, 429 too many streams, a proxy's 502/504). */
    readonly retriable = false,
    /** The server's Retry-After, in ms, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A one-shot request answered "not now" is tried again, this often, for at most about half a minute. */
export const GET_RETRY = Object.freeze({ attempts: 6, policy: Object.freeze({ initialMs: 500, maxMs: 8_000, factor: 2, jitter: 0.3 }), maxRetryAfterMs: 30_000 });
const RETRIABLE_STATUS = new Set([429, 502, 503, 504]);

function retryAfterMs(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (!h) return undefined;
  const secs = Number(h);
  const v = Number.isFinite(secs) ? secs * 1000 : Date.parse(h) - Date.now();
  return Number.isFinite(v) ? Math.max(0, Math.min(v, GET_RETRY.maxRetryAfterMs)) : undefined;
}

export interface Client {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  /** Follows an SSE route, reconnecting with the last event id; resolves on the server's `end`. */
  follow(path: string, query: Record<string, string | number | undefined>, onEvent: (ev: SseEvent) => Promise<void>): Promise<void>;
}

function url(server: string, path: string, query: Record<string, string | number | undefined> = {}): string {
  const u = new URL(path, server.endsWith('/') ? server : `${server}/`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
}

export function createClient(server: string, token: string | undefined): Client {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

  async function call(target: string, extra: Record<string, string> = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(target, { headers: { ...headers, ...extra } });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach the query API at ${server} (${cause?.code ?? cause?.message ?? (err as Error).message}); set --server or SPARKLOGS_URL`);
    }
    if (res.ok) return res;
    let message = `HTTP ${res.status}`;
    let retriable = RETRIABLE_STATUS.has(res.status);
    try {
      const body = (await res.json()) as { error?: { message?: string; retriable?: boolean } };
      if (body.error?.message) message = body.error.message;
      if (typeof body.error?.retriable === 'boolean') retriable = body.error.retriable && res.status !== 500;
    } catch {
      // Not our JSON (a proxy's page): the status says enough.
    }
    if (res.status === 401) message += ' (set SPARKLOGS_TOKEN)';
    throw new CliError(message, res.status === 404 ? 3 : 1, retriable, retryAfterMs(res));
  }

  return {
    async get<T>(path: string, query: Record<string, string | number | undefined> = {}) {
      for (let attempt = 0; ; attempt++) {
        try {
          return (await (await call(url(server, path, query))).json()) as T;
        } catch (err) {
          if (!(err instanceof CliError) || !err.retriable || attempt + 1 >= GET_RETRY.attempts) throw err;
          const wait = err.retryAfterMs ?? backoffMs(GET_RETRY.policy, attempt);
          process.stderr.write(`sparklogs: ${err.message}; trying again in ${(wait / 1000).toFixed(1)} s (${attempt + 2} of ${GET_RETRY.attempts})\n`);
          await sleep(wait);
        }
      }
    },

    async follow(path, query, onEvent) {
      let lastId: string | undefined;
      let failures = 0;
      for (;;) {
        try {
          const res = await call(url(server, path, lastId ? { ...query, tail: undefined } : query), lastId ? { 'last-event-id': lastId } : {});
          for await (const ev of readEvents(res.body!)) {
            failures = 0;
            if (ev.id) lastId = ev.id;
            if (ev.event === 'end') return;
            if (ev.event === 'error') throw new CliError((JSON.parse(ev.data) as { message: string }).message);
            await onEvent(ev);
          }
        } catch (err) {
          // A 4xx will not get better; a dropped connection or a restarting server will.
          if (err instanceof CliError && !/cannot reach|HTTP 5|unavailable/.test(err.message)) throw err;
          if (failures >= 8) throw err instanceof CliError ? err : new CliError(`follow stream lost: ${(err as Error).message}`);
        }
        await sleep(backoffMs(DEFAULT_RETRY, failures++));
      }
    },
  };
}
