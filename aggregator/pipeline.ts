// Kafka batches -> Elasticsearch, in groups of records bounded by
// bulkMaxDocs/bulkMaxBytes. For each group: decode, parse, bulk the lines and
// the summaries, dead-letter what can never be stored, and only then commit
// the group's offsets. A crash anywhere before the commit replays the group,
// and since every write is idempotent the replay changes nothing.
//
// The store is kept busy: the handler of a partition's batch hands each group
// off and returns once all of them are handed off, so Kafka is fetched again
// while the bulks are in flight. Bounds: at most maxBulksInFlight bulk
// requests at once over all partitions, and at most maxBufferedBytes of record
// bytes handed off and not yet committed (the handler waits for room, and
// with it the consumer's next fetch). Groups of one partition are stored one
// after the other (so its lines become searchable in the order written, which
// readers paging forward rely on) while the previous group commits and the
// next is fetched; partitions are stored in parallel. Commits are strictly in
// order, each only once every group before it is committed: a commit never
// passes a line that is not stored.
//
// What breaks the chain of a partition (its "lane"):
// - a rebalance, a group (re)join, a consumer crash or stop: every lane is
//   abandoned, its groups finish their bulks but commit nothing more; kafkajs
//   fetches again from the committed offsets, which the new lanes start from.
// - a group that fails (a commit or dead-letter produce that failed after
//   kafkajs's retries, an unexpected error): the groups after it commit
//   nothing, the partition is fetched again from the failed group's first
//   offset (seek), and a new lane starts there after a backoff.
import { decodeBatch, encodeBatch, RecordDecodeError, type Batch, type Names } from '../contract/index.js';
import type { Logger } from '../contract/log.js';
import { backoffMs, sleep, type RetryPolicy } from '../contract/retry.js';
import { AggregatorError } from './errors.js';
import type { Metrics } from './metrics.js';
import type { EsSink } from './sinks/elasticsearch.js';
import { storeAll } from './sinks/store-writer.js';
import type { BatchControl, DeadLetter, InBatch, KafkaSource } from './sources/kafka.js';
import { lineItems, SummaryFold, type LineItem, type SummaryItem } from './transforms/to-documents.js';
import type { ZonedClock } from './transforms/zoned-time.js';

export interface PipelineOptions {
  source: KafkaSource;
  sink: EsSink;
  names: Names;
  clock: ZonedClock;
  metrics: Metrics;
  log: Logger;
  retry: RetryPolicy;
  bulkMaxDocs: number;
  bulkMaxBytes: number;
  /** Bulk requests in flight at once, over all partitions. */
  maxBulksInFlight: number;
  /** Record bytes handed off and not yet committed, over all partitions (one group may exceed it alone). */
  maxBufferedBytes: number;
  pauseAfterBulkMs: number;
}

export interface Pipeline {
  /** The consumer's batch handler: returns once every group of the batch is handed off. */
  handle(b: InBatch, ctl: BatchControl): Promise<void>;
  /** Takes no more batches and resolves once every group handed off is committed or abandoned. */
  drain(): Promise<void>;
}

interface Group {
  lines: LineItem[];
  fold: SummaryFold;
  /** The records the lines came from, in order: lines [from, to) of `lines` are the record's (for dead letters). */
  records: { key: Buffer | null; offset: string; batch: Batch; from: number; to: number }[];
  dead: DeadLetter[];
  bytes: number;
  first?: string;
  last?: string;
}

interface Lane {
  epoch: number;
  /** Resolves true once every group handed to the lane so far is committed, false once one is not (failed or abandoned). */
  tail: Promise<boolean>;
  /** Resolves once the lane's last group handed off is stored (or given up): the next group's bulk waits for it. */
  stored: Promise<void>;
  failed: boolean;
}

const newGroup = (): Group => ({ lines: [], fold: new SummaryFold(), records: [], dead: [], bytes: 0 });

const WAIT_SLICE_MS = 1000;

class Slots {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((res) => this.waiting.push(res));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

export function createPipeline(o: PipelineOptions): Pipeline {
  const { source, metrics: m } = o;
  const slots = new Slots(o.maxBulksInFlight);
  let buffered = 0;
  let roomWaiters: (() => void)[] = [];
  const inFlight = new Set<Promise<boolean>>();
  /** Bumped whenever kafkajs may re-assign partitions or fetch again from the committed offsets. */
  let epoch = 0;
  const lanes = new Map<string, Lane>();
  /** After a failure: the partition must be fetched again from this offset before anything new is handed off. */
  const resumeAt = new Map<string, bigint>();
  const failures = new Map<string, number>();
  let draining: Promise<void> | undefined;

  source.onRebalance((why) => {
    epoch++;
    lanes.clear();
    resumeAt.clear();
    o.log.debug({ why, epoch }, 'lanesReset');
  });

  const freeRoom = (bytes: number) => {
    buffered -= bytes;
    const w = roomWaiters;
    roomWaiters = [];
    for (const f of w) f();
  };

  /** Waits until `bytes` more fit the buffer (always when nothing is buffered); false if the batch should stop instead. */
  async function room(bytes: number, ctl: BatchControl, ep: number): Promise<boolean> {
    while (buffered > 0 && buffered + bytes > o.maxBufferedBytes) {
      await Promise.race([new Promise<void>((res) => roomWaiters.push(res)), sleep(WAIT_SLICE_MS)]);
      if (ep !== epoch || draining || !ctl.isRunning() || ctl.isStale()) return false;
      await ctl.heartbeat();
    }
    buffered += bytes;
    return true;
  }

  async function patientSleep(ms: number, ctl: BatchControl): Promise<void> {
    for (let left = ms; left > 0; left -= WAIT_SLICE_MS) {
      await sleep(Math.min(left, WAIT_SLICE_MS));
      await ctl.heartbeat();
    }
  }

  /** The record of each refused line (only built when something was refused). */
  function originsOf(g: Group): Map<LineItem, Group['records'][number]> {
    const out = new Map<LineItem, Group['records'][number]>();
    for (const r of g.records) for (let i = r.from; i < r.to; i++) out.set(g.lines[i]!, r);
    return out;
  }

  /** Stores the group, dead-letters what the store refused for good; returns once both are done. */
  async function store(g: Group, b: InBatch, ctl: BatchControl, log: Logger): Promise<void> {
    const items: (LineItem | SummaryItem)[] = [...g.lines, ...g.fold.items(o.names)];
    await slots.acquire();
    let refused;
    try {
      refused = await storeAll(o.sink, items, ctl, o.retry, m, log);
    } finally {
      slots.release();
    }
    const isLine = (x: LineItem | SummaryItem): x is LineItem => 'event' in x;
    let refusedLines = 0;
    const origin = refused.length ? originsOf(g) : undefined;
    for (const r of refused) {
      const err = new AggregatorError('ITEM_REJECTED', `Elasticsearch refused ${r.item.index}/${r.item.id} (HTTP ${r.httpStatus}): ${r.reason}`);
      const where = { topic: b.topic, partition: b.partition, offset: g.last! };
      if (isLine(r.item)) {
        // The dead letter is a one-line batch in the input format: it can be fixed and re-produced as is.
        const from = origin!.get(r.item)!;
        refusedLines++;
        g.dead.push({ key: from.key, value: encodeBatch({ v: from.batch.v, src: from.batch.src, lines: [r.item.event] }), reason: err.message, code: err.code, source: { ...where, offset: from.offset } });
      } else {
        g.dead.push({ key: null, value: Buffer.from(JSON.stringify(r.item.doc)), reason: err.message, code: err.code, source: where });
      }
    }
    if (refused.length) log.warn({ refused: refused.length, first: refused[0]!.reason }, 'itemsDeadLettered');
    const stored = g.lines.length - refusedLines;
    // Stored: only the offsets and the dead letters are needed until the commit.
    g.lines = [];
    g.records = [];
    await source.deadLetter(g.dead);
    g.dead = [];
    m.linesIndexed.inc(stored);
    if (refusedLines) m.linesDeadLettered.inc({ code: 'ITEM_REJECTED' }, refusedLines);
  }

  /** Hands the group off: stored now (within the bounds), committed after the lane's previous group. */
  function handOff(g: Group, bytes: number, b: InBatch, ctl: BatchControl, lane: Lane, key: string, log: Logger): void {
    const prev = lane.tail;
    const prevStored = lane.stored;
    let markStored!: () => void;
    lane.stored = new Promise<void>((res) => (markStored = res));
    const first = g.first!;
    const last = g.last!;
    const task = (async (): Promise<boolean> => {
      try {
        // A partition's groups are stored one after the other (partitions in
        // parallel): its lines become searchable in the order they were
        // written, so a reader paging forward (after=cursor, follow) never
        // passes a line that appears behind it later.
        await prevStored;
        if (lane.failed || lane.epoch !== epoch) return false;
        await store(g, b, ctl, log);
        markStored();
        if (o.pauseAfterBulkMs > 0) {
          log.info({ offset: last, ms: o.pauseAfterBulkMs }, 'pausingBeforeCommit');
          await sleep(o.pauseAfterBulkMs);
        }
        if (!(await prev) || lane.failed || lane.epoch !== epoch) return false;
        await source.commit(b.topic, b.partition, String(BigInt(last) + 1n));
        failures.delete(key);
        log.debug({ offset: last }, 'groupCommitted');
        return true;
      } catch (err) {
        if (lane.failed || lane.epoch !== epoch) return false;
        // Nothing after this group may be committed by this lane: fetch the partition again from its first offset.
        lane.failed = true;
        const n = (failures.get(key) ?? 0) + 1;
        failures.set(key, n);
        resumeAt.set(key, BigInt(first));
        log.warn({ offset: first, failures: n, code: (err as { code?: string }).code, err: (err as Error).message }, 'groupFailed');
        try {
          source.seek(b.topic, b.partition, first);
        } catch (e) {
          // The consumer is restarting: it fetches from the committed offset anyway.
          log.warn({ err: (e as Error).message }, 'seekFailed');
        }
        return false;
      } finally {
        markStored();
        freeRoom(bytes);
      }
    })();
    lane.tail = task;
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
    // The next fetch starts after the group; its commit is the task's.
    ctl.resolveOffset(last);
  }

  async function handle(b: InBatch, ctl: BatchControl): Promise<void> {
    if (draining) {
      // Holds the consumer's fetch loop until the groups in flight are committed (then the consumer is stopped).
      await draining;
      return;
    }
    if (b.messages.length === 0) return;
    const ep = epoch;
    const key = `${b.topic}|${b.partition}`;
    const log = o.log.child({ partition: b.partition });
    const from = resumeAt.get(key);
    if (from !== undefined && BigInt(b.messages[0]!.offset) > from) {
      // Fetched before the seek took effect: nothing of it may be handed off, and nothing resolved.
      try {
        source.seek(b.topic, b.partition, String(from));
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'seekFailed');
      }
      await patientSleep(WAIT_SLICE_MS, ctl);
      return;
    }
    let found = lanes.get(key);
    if (!found || found.failed) {
      if (found?.failed) {
        // A failed lane's successor starts where the failed group started, after a backoff.
        await patientSleep(backoffMs(o.retry, (failures.get(key) ?? 1) - 1), ctl);
        if (ep !== epoch || draining || !ctl.isRunning() || ctl.isStale()) return;
      }
      resumeAt.delete(key);
      found = { epoch: ep, tail: Promise.resolve(true), stored: Promise.resolve(), failed: false };
      lanes.set(key, found);
    }
    const lane = found;
    let g = newGroup();
    const submit = async (): Promise<boolean> => {
      if (!g.last) return true;
      const bytes = g.bytes;
      if (!(await room(bytes, ctl, ep))) return false;
      if (ep !== epoch || lane.failed) {
        freeRoom(bytes);
        return false;
      }
      handOff(g, bytes, b, ctl, lane, key, log);
      g = newGroup();
      return true;
    };
    for (const msg of b.messages) {
      // A rebalance, a seek or SIGTERM: what is handed off stays; the rest is fetched again (by the next owner).
      if (ep !== epoch || draining || lane.failed || !ctl.isRunning() || ctl.isStale()) return;
      g.first ??= msg.offset;
      g.last = msg.offset;
      g.bytes += msg.value?.length ?? 0;
      let batch: Batch;
      try {
        batch = decodeBatch(msg.value);
      } catch (err) {
        const code = err instanceof RecordDecodeError ? err.code : 'RECORD_INVALID';
        log.warn({ offset: msg.offset, code, reason: (err as Error).message }, 'recordDeadLettered');
        m.recordsDeadLettered.inc({ code });
        g.dead.push({ key: msg.key, value: msg.value, reason: (err as Error).message, code, source: { topic: b.topic, partition: b.partition, offset: msg.offset } });
        continue;
      }
      const lines = lineItems(batch, o.names, o.clock);
      m.linesConsumed.inc(lines.length);
      g.records.push({ key: msg.key, offset: msg.offset, batch, from: g.lines.length, to: g.lines.length + lines.length });
      for (const l of lines) g.lines.push(l);
      g.fold.add(batch.src, lines);
      if (g.lines.length >= o.bulkMaxDocs || g.bytes >= o.bulkMaxBytes) {
        if (!(await submit())) return;
      }
    }
    if (ep !== epoch || draining || lane.failed || !ctl.isRunning() || ctl.isStale()) return;
    await submit();
  }

  return {
    handle,
    drain() {
      draining ??= (async () => {
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      })();
      return draining;
    },
  };
}
