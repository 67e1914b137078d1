// Counting at the far end: reads a shipper's topic from the start with a
// fresh consumer group and counts what arrived, event by event (a collector
// message holds a batch of events, a peer's one event): how many events, how
// many are a stack-trace line shipped on its own (not joined to its event),
// and, for numbered events (`seq=N` in the first line), how many of each.
import { createKafkaSource } from '../../../aggregator/sources/kafka.js';
import { testLog } from '../../helpers/log.js';
import type { Topic } from '../context.js';
import { EVENT_START } from './shippers.js';

export interface Count {
  messages: number;
  events: number;
  /** Events that do not start like a Spark event: a trace line shipped alone. */
  fragments: number;
  /** Events that hold a stack trace (a joined one). */
  withTrace: number;
  /** For numbered events 0..expected-1: numbers that never arrived, and extra copies of those that did. */
  missing?: number;
  duplicates?: number;
  /** Numbers that arrived more than once (each counted once). */
  duplicated?: number;
  /** The first missing numbers (up to 10), to see where a shipper lost them. */
  missingFirst?: number[];
}

const SEQ = / seq=(\d+)$/;
const firstLine = (text: string) => {
  const i = text.indexOf('\n');
  return i < 0 ? text : text.slice(0, i);
};

export async function countTopic(brokers: string[], topic: Topic, eventsOf: (value: Buffer) => string[], expected?: number, timeoutMs = 600_000): Promise<Count> {
  const total = await topic.messages();
  const c: Count = { messages: 0, events: 0, fragments: 0, withTrace: 0 };
  // One byte per number, saturating: bounded by the numbers written.
  const copies = expected !== undefined ? new Uint8Array(expected) : undefined;
  let unknown = 0;
  if (total > 0) {
    const s = createKafkaSource({
      brokers, clientId: 'sparklogs-bench-count', groupId: `${topic.name}-count-${Date.now()}`, topic: topic.name,
      deadLetterTopic: `${topic.name}.dlq`, sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`read ${c.messages} of ${total} messages of ${topic.name} in ${timeoutMs} ms`)), timeoutMs);
        s.run(async (b, ctl) => {
          for (const m of b.messages) {
            c.messages++;
            if (!m.value) continue;
            for (const text of eventsOf(m.value)) {
              c.events++;
              if (!EVENT_START.test(text)) c.fragments++;
              else if (text.includes('\n\tat ')) c.withTrace++;
              if (copies) {
                const n = SEQ.exec(firstLine(text))?.[1];
                const i = n === undefined ? -1 : Number(n);
                if (i >= 0 && i < copies.length) copies[i] = Math.min(255, copies[i]! + 1);
                else if (EVENT_START.test(text)) unknown++;
              }
            }
          }
          ctl.resolveOffset(b.messages.at(-1)!.offset);
          if (c.messages >= total) {
            clearTimeout(timer);
            resolve();
          }
        }).catch(reject);
      });
    } finally {
      await s.stop();
    }
  }
  if (copies) {
    let missing = 0, duplicates = 0, duplicated = 0;
    const missingFirst: number[] = [];
    for (const [i, k] of copies.entries()) {
      if (k === 0) {
        missing++;
        if (missingFirst.length < 10) missingFirst.push(i);
      }
      else if (k > 1) {
        duplicates += k - 1;
        duplicated++;
      }
    }
    Object.assign(c, { missing, duplicates, duplicated, missingFirst });
    if (unknown) testLog.warn({ unknown }, 'events without a number in range');
  }
  return c;
}
