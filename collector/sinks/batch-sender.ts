import { kafkaKey, type SourceIdentity } from '../../contract/identity.js';
import type { Logger } from '../../contract/log.js';
import { encodeBatch, RECORD_VERSION, type LogEvent } from '../../contract/record.js';
import { backoffMs, sleep, type RetryPolicy } from '../../contract/retry.js';
import type { LineSink, OutMessage } from './kafka.js';

// Turns the events of a round into Kafka messages (one source per message,
// bounded size) and sends them until every one is acknowledged: a failure is
// retried with backoff for as long as it takes, while the caller reads
// nothing new (the files are the buffer). An outage is logged once when it
// starts and once when it ends.

export interface SenderOptions {
  sink: LineSink;
  /** Most text bytes in one message; Kafka refuses messages over 1 MB. */
  batchMaxBytes: number;
  retry: RetryPolicy;
  log: Logger;
  onError?: (err: Error) => void;
}

// Per-event JSON overhead besides its text ({"off":…,"t":…,"m":""}).
const EVENT_OVERHEAD = 48;
// Messages of one produce request together: kafkajs puts a partition's
// messages of one request into one record batch, which must stay below
// Kafka's message.max.bytes (1 MB by default) even uncompressed.
const REQUEST_MAX_BYTES = 900 * 1024;
const PARALLEL_REQUESTS = 4;

/** Consecutive events of one file as messages of at most batchMaxBytes; `n` is the first event's number in its file. */
export function toMessages(src: SourceIdentity, events: LogEvent[], batchMaxBytes: number, n: number): OutMessage[] {
  const key = kafkaKey(src);
  const out: OutMessage[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < events.length; i++) {
    const size = events[i]!.m.length + EVENT_OVERHEAD;
    if (i > start && bytes + size > batchMaxBytes) {
      out.push({ key, value: encodeBatch({ v: RECORD_VERSION, src, n: n + start, lines: events.slice(start, i) }) });
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < events.length) out.push({ key, value: encodeBatch({ v: RECORD_VERSION, src, n: n + start, lines: events.slice(start) }) });
  return out;
}

/**
 * true when `p` resolves, false as soon as `signal` fires (p's outcome is then
 * ignored). An abort must not wait for a request in flight: against a Kafka
 * that does not answer, one send lasts its request timeout times the client's
 * retries (30 s and more), longer than the spool's reserve before a pod's
 * deadline (found on the real cluster, K5). Lines of an abandoned request stay
 * unacknowledged; should they arrive after all, the spool re-sends them under
 * the same ids, which the store absorbs.
 */
function untilAborted(p: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => undefined);
      resolve(false);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

export class BatchSender {
  private downSince: number | undefined;
  private failures = 0;

  constructor(private readonly o: SenderOptions) {}

  get outage(): boolean {
    return this.downSince !== undefined;
  }

  /**
   * Resolves when all messages are acknowledged; false if `abort` fired first.
   *
   * Requests go out up to PARALLEL_REQUESTS at a time, but never two holding
   * the same key: a request is sent only once every earlier request sharing a
   * key with it is acknowledged. Two requests of one key in flight together
   * can be appended in either order (a compression finished first, a retry
   * after a timeout), and an executor's records out of file order let a reader
   * of the store pass a line that becomes visible later (the live follow
   * skipped a quarter of a burst). Kafka's idempotent producer would keep
   * order with several in flight, but kafkajs 2.2 numbers a partition's
   * records when a request leaves and takes the numbers back by subtraction
   * when it fails (producer/sendMessages.js), which is right only with one
   * request of the partition in flight; and it wants retries without end
   * inside the client, where the collector's own retry (with its outage log
   * and the spool deadline) lives.
   */
  async send(messages: OutMessage[], abort: AbortSignal): Promise<boolean> {
    const groups: OutMessage[][] = [];
    let cur: OutMessage[] = [];
    let bytes = 0;
    for (const m of messages) {
      if (cur.length && bytes + m.value.length > REQUEST_MAX_BYTES) {
        groups.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(m);
      bytes += m.value.length;
    }
    if (cur.length) groups.push(cur);
    // Per group, the earlier groups it must wait for: the last one before it of each of its keys.
    const lastOfKey = new Map<string, number>();
    const after = groups.map((g, i) => {
      const deps = new Set<number>();
      for (const m of g) {
        const j = lastOfKey.get(m.key);
        if (j !== undefined && j !== i) deps.add(j);
        lastOfKey.set(m.key, i);
      }
      return [...deps];
    });
    const done: Promise<boolean>[] = new Array(groups.length);
    const settle: ((ok: boolean) => void)[] = new Array(groups.length);
    for (let i = 0; i < groups.length; i++) done[i] = new Promise<boolean>((resolve) => (settle[i] = resolve));
    let next = 0;
    const worker = async (): Promise<boolean> => {
      while (next < groups.length) {
        const i = next++;
        const ok = (await Promise.all(after[i]!.map((j) => done[j]!))).every(Boolean) && (await this.sendOne(groups[i]!, abort).catch((err: unknown) => {
          settle[i]!(false);
          throw err;
        }));
        settle[i]!(ok);
        if (!ok) return false;
      }
      return true;
    };
    const ok = await Promise.all(Array.from({ length: Math.min(PARALLEL_REQUESTS, groups.length) }, worker));
    return ok.every(Boolean);
  }

  private async sendOne(group: OutMessage[], abort: AbortSignal): Promise<boolean> {
    for (;;) {
      if (abort.aborted) return false;
      try {
        if (!(await untilAborted(this.o.sink.send(group), abort))) return false;
        if (this.downSince !== undefined) {
          this.o.log.warn({ event: 'kafkaRecovered', downMs: Date.now() - this.downSince, failures: this.failures }, 'Kafka accepts lines again');
          this.downSince = undefined;
          this.failures = 0;
        }
        return true;
      } catch (err) {
        this.o.onError?.(err as Error);
        if (this.downSince === undefined) {
          this.downSince = Date.now();
          this.o.log.error({ event: 'kafkaUnavailable', err }, 'Kafka does not acknowledge: reading paused, retrying with backoff');
        }
        await sleep(backoffMs(this.o.retry, this.failures++), abort);
      }
    }
  }
}
