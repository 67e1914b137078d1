// Stores a set of bulk items until each one is either stored or refused for
// good. Items Elasticsearch refuses for now (429, 5xx, a read-only index) are
// retried alone, with backoff and jitter, forever: dropping them would lose
// lines, and the offsets stay uncommitted meanwhile, so a crash loses nothing
// either. While waiting, and while a bulk request is in flight, the consumer
// keeps heart-beating so the group does not take the partition away from a
// healthy but patient member; if it is taken anyway (rebalance), heartbeat()
// throws and the batch is abandoned uncommitted.
import { backoffMs, sleep, type RetryPolicy } from '../../contract/retry.js';
import type { Logger } from '../../contract/log.js';
import type { Metrics } from '../metrics.js';
import { MAX_BULK_TIMEOUT_FACTOR, StoreUnavailableError, type BulkItem, type EsSink } from './elasticsearch.js';

export interface WaitControl {
  heartbeat(): Promise<void>;
  /** Stops fetching the partition; returns the function that resumes it. */
  pause(): () => void;
}

export interface Refused<T> {
  item: T;
  httpStatus: number;
  reason: string;
}

const HEARTBEAT_SLICE_MS = 1000;

async function patientSleep(ms: number, ctl: WaitControl): Promise<void> {
  for (let left = ms; left > 0; left -= HEARTBEAT_SLICE_MS) {
    await sleep(Math.min(left, HEARTBEAT_SLICE_MS));
    await ctl.heartbeat();
  }
}

/**
 * Awaits a bulk request while heart-beating: a store that is slow but working must not cost the
 * partition (the group would evict a member silent for its session timeout, refuse its commit, and
 * the next owner would store the same batch again). If the partition is taken meanwhile, the
 * heartbeat's error is thrown once the request has ended, so the batch is abandoned uncommitted.
 */
async function withHeartbeats<T>(request: Promise<T>, ctl: WaitControl): Promise<T> {
  let lost: unknown;
  let beating = false;
  const timer = setInterval(() => {
    if (beating || lost !== undefined) return;
    beating = true;
    ctl.heartbeat().then(
      () => (beating = false),
      (err: unknown) => {
        beating = false;
        lost = err ?? new Error('heartbeat failed');
      },
    );
  }, HEARTBEAT_SLICE_MS);
  try {
    const value = await request;
    if (lost !== undefined) throw lost;
    return value;
  } finally {
    clearInterval(timer);
  }
}

export async function storeAll<T extends BulkItem>(sink: EsSink, items: T[], ctl: WaitControl, policy: RetryPolicy, m: Metrics, log: Logger): Promise<Refused<T>[]> {
  const refused: Refused<T>[] = [];
  let pending = items;
  let attempt = 0;
  let resume: (() => void) | undefined;
  // A bulk the client gave up on may still be applied by the store: sending it again at once
  // doubles a struggling store's work (the ids make it harmless, not free). Each timeout doubles
  // the next attempt's patience, bounded; an answer in time brings it back.
  let timeoutMs: number | undefined;
  const unavailable = (why: string) => {
    if (resume) return;
    resume = ctl.pause();
    m.storeAvailable.set(0);
    log.warn({ why }, 'storeUnavailable');
  };
  try {
    while (pending.length > 0) {
      m.bulkItems.observe(pending.length);
      const done = m.bulkSeconds.startTimer();
      let outcomes;
      try {
        outcomes = await withHeartbeats(sink.bulk(pending, timeoutMs), ctl);
        timeoutMs = undefined;
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        unavailable(err.message);
        if (err.timedOut) {
          const base = sink.requestTimeoutMs;
          timeoutMs = Math.min((timeoutMs ?? base) * 2, base * MAX_BULK_TIMEOUT_FACTOR);
          log.warn({ items: pending.length, nextTimeoutMs: timeoutMs }, 'bulkTimedOut');
        }
        m.bulkRetries.inc({ reason: err.timedOut ? 'timeout' : 'unavailable' });
        await patientSleep(backoffMs(policy, attempt++), ctl);
        continue;
      } finally {
        done();
      }
      const again: T[] = [];
      let firstReason = '';
      outcomes.forEach((o, i) => {
        const item = pending[i]!;
        if (o.status === 'ok') return;
        if (o.status === 'retry') {
          again.push(item);
          firstReason ||= o.reason;
        } else refused.push({ item, httpStatus: o.httpStatus, reason: o.reason });
      });
      if (again.length > 0) {
        // Every item bounced: the store as a whole is refusing (flood stage, overloaded), not a few shards.
        if (again.length === pending.length) unavailable(firstReason);
        m.bulkRetries.inc({ reason: /cluster_block/.test(firstReason) ? 'read_only' : 'rejected_for_now' }, again.length);
        log.debug({ items: again.length, of: pending.length, attempt, reason: firstReason }, 'bulkItemsRetry');
        await patientSleep(backoffMs(policy, attempt++), ctl);
      } else if (resume) {
        resume();
        resume = undefined;
        m.storeAvailable.set(1);
        log.info({ attempts: attempt }, 'storeAvailable');
      }
      pending = again;
    }
  } finally {
    resume?.();
  }
  return refused;
}
