// Retry policy as plain data, shared by every client of Kafka and
// Elasticsearch in the project: exponential backoff with full jitter, capped,
// so a fleet of collectors does not hammer a recovering broker in step.

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0 = no jitter, 1 = full jitter (delay uniformly in [0, d]). */
  jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ initialMs: 200, maxMs: 30_000, factor: 2, jitter: 0.5 });

/** Delay before retry number `attempt` (0-based). */
export function backoffMs(p: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const d = Math.min(p.maxMs, p.initialMs * p.factor ** Math.min(attempt, 60));
  return Math.round(d * (1 - p.jitter * random()));
}

/** Resolves after ms, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
