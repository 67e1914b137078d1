// One Kafka batch (one partition) -> Elasticsearch, in groups of records
// bounded by bulkMaxDocs/bulkMaxBytes. For each group: decode, parse, bulk the
// lines and the summaries, dead-letter what can never be stored, and only then
// commit the group's offsets. A crash anywhere before the commit replays the
// group, and since every write is idempotent the replay changes nothing.
import { decodeBatch, encodeBatch, RecordDecodeError, type Batch, type Names } from '../contract/index.js';
import type { Logger } from '../contract/log.js';
import type { RetryPolicy } from '../contract/retry.js';
import { sleep } from '../contract/retry.js';
import { AggregatorError } from './errors.js';
import type { Metrics } from './metrics.js';
import type { EsSink } from './sinks/elasticsearch.js';
import { storeAll } from './sinks/store-writer.js';
import type { BatchControl, DeadLetter, InBatch, InMessage, KafkaSource } from './sources/kafka.js';
import { PatternCache } from './transforms/pattern-cache.js';
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
  pauseAfterBulkMs: number;
}

interface Group {
  lines: LineItem[];
  fold: SummaryFold;
  /** Which record each line came from (its key), for dead letters. */
  origin: Map<LineItem, { msg: InMessage; batch: Batch }>;
  dead: DeadLetter[];
  bytes: number;
  last?: InMessage;
}

const newGroup = (): Group => ({ lines: [], fold: new SummaryFold(), origin: new Map(), dead: [], bytes: 0 });

export function createPipeline(o: PipelineOptions) {
  const { source, metrics: m } = o;
  // A source's pattern that does not compile: its lines are parsed with the built-in layouts.
  const patterns = new PatternCache((err) => o.log.warn({ code: err.code, reason: err.message }, 'patternInvalid'));

  async function flush(g: Group, b: InBatch, ctl: BatchControl, log: Logger): Promise<void> {
    if (!g.last) return;
    const items: (LineItem | SummaryItem)[] = [...g.lines, ...g.fold.items(o.names)];
    const refused = await storeAll(o.sink, items, ctl, o.retry, m, log);
    const isLine = (x: LineItem | SummaryItem): x is LineItem => 'event' in x;
    let refusedLines = 0;
    for (const r of refused) {
      const err = new AggregatorError('ITEM_REJECTED', `Elasticsearch refused ${r.item.index}/${r.item.id} (HTTP ${r.httpStatus}): ${r.reason}`);
      const where = { topic: b.topic, partition: b.partition, offset: g.last.offset };
      if (isLine(r.item)) {
        // The dead letter is a one-line batch in the input format: it can be fixed and re-produced as is.
        const from = g.origin.get(r.item)!;
        refusedLines++;
        g.dead.push({ key: from.msg.key, value: encodeBatch({ v: from.batch.v, src: from.batch.src, lines: [r.item.event] }), reason: err.message, code: err.code, source: { ...where, offset: from.msg.offset } });
      } else {
        g.dead.push({ key: null, value: Buffer.from(JSON.stringify(r.item.doc)), reason: err.message, code: err.code, source: where });
      }
    }
    if (refused.length) log.warn({ refused: refused.length, first: refused[0]!.reason }, 'itemsDeadLettered');
    await source.deadLetter(g.dead);
    // Counted once sent: a group abandoned before this point (rebalance) is decoded again by the next owner.
    for (const d of g.dead) if (d.code !== 'ITEM_REJECTED') m.recordsDeadLettered.inc({ code: d.code });
    m.linesIndexed.inc(g.lines.length - refusedLines);
    if (refusedLines) m.linesDeadLettered.inc({ code: 'ITEM_REJECTED' }, refusedLines);
    if (o.pauseAfterBulkMs > 0) {
      log.info({ offset: g.last.offset, ms: o.pauseAfterBulkMs }, 'pausingBeforeCommit');
      await sleep(o.pauseAfterBulkMs);
    }
    await source.commit(b.topic, b.partition, String(BigInt(g.last.offset) + 1n));
    ctl.resolveOffset(g.last.offset);
    log.debug({ offset: g.last.offset, lines: g.lines.length, dead: g.dead.length }, 'groupCommitted');
    await ctl.heartbeat();
  }

  return async function handleBatch(b: InBatch, ctl: BatchControl): Promise<void> {
    const log = o.log.child({ partition: b.partition });
    let g = newGroup();
    for (const msg of b.messages) {
      // SIGTERM: what is committed so far stays; the rest is the next owner's.
      if (!ctl.isRunning() || ctl.isStale()) break;
      g.last = msg;
      g.bytes += msg.value?.length ?? 0;
      let batch: Batch;
      try {
        batch = decodeBatch(msg.value);
      } catch (err) {
        const code = err instanceof RecordDecodeError ? err.code : 'RECORD_INVALID';
        log.warn({ offset: msg.offset, code, reason: (err as Error).message }, 'recordDeadLettered');
        g.dead.push({ key: msg.key, value: msg.value, reason: (err as Error).message, code, source: { topic: b.topic, partition: b.partition, offset: msg.offset } });
        continue;
      }
      const lines = lineItems(batch, o.names, o.clock, patterns);
      m.linesConsumed.inc(lines.length);
      for (const l of lines) {
        g.lines.push(l);
        g.origin.set(l, { msg, batch });
      }
      g.fold.add(batch.src, lines);
      if (g.lines.length >= o.bulkMaxDocs || g.bytes >= o.bulkMaxBytes) {
        await flush(g, b, ctl, log);
        g = newGroup();
      }
    }
    await flush(g, b, ctl, log);
  };
}
