// Waiting and retrying the way the tests must on a busy machine: wait on a
// condition (bounded generously, the message naming what was awaited), and
// retry what the product documents as retriable (bounded, with backoff) while
// every other failure still fails at once.
import { backoffMs, sleep, type RetryPolicy } from '../../contract/retry.js';

/** How long a test waits for something that only slows down under load (a server, a topic, a store catching up). */
export const SLOW_MS = 180_000;

/** The backoff of the tests' retries: starts short, never longer than 5 s between tries. */
export const TEST_RETRY: RetryPolicy = Object.freeze({ initialMs: 250, maxMs: 5_000, factor: 2, jitter: 0.5 });

/** Polls `pred` until it holds; throws after `timeoutMs`, naming `what` and (if given) what `state()` says. */
export async function waitUntil(pred: () => boolean | Promise<boolean>, o: { what: string; timeoutMs?: number; intervalMs?: number; state?: () => string }): Promise<void> {
  const timeoutMs = o.timeoutMs ?? SLOW_MS;
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${o.what}${o.state ? `: ${o.state()}` : ''}`);
    await sleep(o.intervalMs ?? 100);
  }
}

/**
 * Runs `fn` until it succeeds. A failure `retriable` says yes to is tried
 * again after a backoff, until `timeoutMs` has passed; any other failure, or
 * the last one, is thrown (the last one wrapped, naming `what` and the tries).
 */
export async function retrying<T>(fn: (attempt: number) => Promise<T>, o: { what: string; retriable: (err: unknown) => boolean; timeoutMs?: number; onRetry?: (err: unknown, attempt: number) => void }): Promise<T> {
  const timeoutMs = o.timeoutMs ?? SLOW_MS;
  const end = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!o.retriable(err)) throw err;
      const delay = backoffMs(TEST_RETRY, attempt);
      if (Date.now() + delay > end) throw new Error(`${o.what}: still failing after ${attempt + 1} tries in ${timeoutMs} ms: ${(err as Error).message}`, { cause: err });
      o.onRetry?.(err, attempt);
      await sleep(delay);
    }
  }
}

/** An error the product marks `retriable: true` (the Kafka source's and the collector's errors carry the flag). */
export const markedRetriable = (err: unknown): boolean => (err as { retriable?: unknown } | undefined)?.retriable === true;

/**
 * Statuses of the query API documented as retriable (query-api/README.md,
 * query-api/errors.ts): 503 STORE_UNAVAILABLE ("Elasticsearch unreachable or
 * failing; the next request tries again") and 429 TOO_MANY_STREAMS.
 */
export const RETRIABLE_STATUS: ReadonlySet<number> = new Set([429, 503]);

/** Retry-After (seconds or an HTTP date) in ms, when the answer carries one. */
function retryAfterMs(r: Response): number | undefined {
  const v = r.headers.get('retry-after');
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/**
 * fetch() of a query API URL that retries the documented retriable answers
 * (503, 429; after Retry-After when given, else a backoff) and a request that
 * got no answer at all (refused, reset, or slower than `requestTimeoutMs`),
 * until `timeoutMs` has passed. Returns the first other answer, whatever its
 * status: the caller asserts on it. Only for requests that are safe to repeat (GET).
 */
export async function fetchRetrying(url: string | URL, o: { init?: RequestInit; requestTimeoutMs?: number; timeoutMs?: number; onRetry?: (why: string) => void } = {}): Promise<Response> {
  const timeoutMs = o.timeoutMs ?? SLOW_MS;
  const end = Date.now() + timeoutMs;
  let last = '';
  for (let attempt = 0; ; attempt++) {
    let wait = backoffMs(TEST_RETRY, attempt);
    try {
      const r = await fetch(url, { ...o.init, signal: AbortSignal.timeout(o.requestTimeoutMs ?? 60_000) });
      if (!RETRIABLE_STATUS.has(r.status)) return r;
      last = `HTTP ${r.status} ${(await r.text()).slice(0, 300)}`;
      wait = retryAfterMs(r) ?? wait;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      last = `no answer (${cause?.code ?? (err as Error).message})`;
    }
    if (Date.now() + wait > end) throw new Error(`GET ${String(url)}: still ${last} after ${attempt + 1} tries in ${timeoutMs} ms`);
    o.onRetry?.(last);
    await sleep(wait);
  }
}
