// The data and the loop of the layout catalogue's speed measurement: cutting
// (the collector's decoder and multiline) and parsing (the aggregator's
// parseEvent) together, over the real-log corpus, a synthetic mix of layouts
// and an app's own PatternLayout. Used by test/layouts/speed.ts (by hand) and
// the benchmark's layouts part (npm run bench -- --only layouts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { startTest, wholeTest } from '../../collector/transforms/multiline.js';
import { newParseHint, parseEvent, type ParseOptions } from '../../aggregator/transforms/parse-event.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { compileLayout } from '../../contract/pattern-layout.js';

const utc = new ZonedClock('UTC');
const CORPUS = join(import.meta.dirname, 'corpus');

export function corpusText(): string {
  const parts: string[] = [];
  for (const run of readdirSync(CORPUS).sort()) {
    for (const f of readdirSync(join(CORPUS, run)).filter((x) => x.endsWith('.log')).sort()) parts.push(readFileSync(join(CORPUS, run, f), 'utf8'));
  }
  return parts.join('');
}

export function synthetic(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    switch (i % 8) {
      case 0: lines.push(`24/11/21 06:20:${String(i % 60).padStart(2, '0')} INFO Executor: Running task ${i}.0 in stage 0.0 (TID ${i})`); break;
      case 1: lines.push(`2024-11-21 06:20:00,123 INFO  org.apache.flink.runtime.taskexecutor.TaskExecutor           [] - Receive slot request ${i}`); break;
      case 2: lines.push(`{"ts":"2024-11-21T06:20:00.123Z","level":"INFO","msg":"Running task ${i}","context":{"task_id":"${i}"},"logger":"Executor"}`); break;
      case 3: lines.push(`21 Nov 2024 06:20:00,123 INFO  [lifecycleSupervisor-1-0] (org.apache.flume.node.Application.startAllComponents:207) - Starting Channel c${i}`); break;
      case 4: lines.push(`24/11/21 06:20:02 ERROR Executor: Exception in task ${i}.0`, 'java.lang.ArithmeticException: / by zero', '\tat org.example.Etl$.main(Etl.scala:12)', '\tat scala.runtime.java8.JFunction1$mcII$sp.apply(JFunction1$mcII$sp.java:23)', 'Caused by: java.lang.IllegalStateException: inner', '\t... 12 more'); break;
      case 5: lines.push(`2024-11-21 06:20:00,123 INFO org.apache.hadoop.yarn.client.RMProxy: Connecting to ResourceManager ${i}`); break;
      case 6: lines.push(`2024-11-21 06:20:00,005 [Executor task launch worker for task ${i}] DEBUG org.apache.spark.storage.BlockManager - Getting local block rdd_1_0`); break;
      default: lines.push(`Setting default log level to "WARN". ${i}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export const PATTERN = '%d{ISO8601} %-5p [%t] %c{1}:%L - %X{trace} %m%n';

export function custom(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(`2024-11-21 06:20:00,${String(i % 1000).padStart(3, '0')} ${i % 10 ? 'INFO ' : 'ERROR'} [worker ${i % 8}] Loader:${i % 300} - t${i} loaded record ${i}`);
    if (i % 10 === 0) lines.push('java.io.IOException: gone', '\tat o.e.Loader.load(Loader.java:12)', '\t... 3 more');
  }
  return `${lines.join('\n')}\n`;
}

export function cutAndParse(text: Buffer, pattern?: string): { ms: number; events: number } {
  const t0 = performance.now();
  // One file: the parser keeps its layout hint as the aggregator does per file (the cutter keeps its own).
  const o: ParseOptions = pattern === undefined ? { hint: newParseHint() } : { layout: compileLayout(pattern), hint: newParseHint() };
  const d = new FileDecoder({ format: 'plain', maxLineBytes: 256 * 1024, multiline: { isStart: startTest('timestamped', undefined, pattern), isWhole: wholeTest(), maxLines: 1000, maxBytes: 512 * 1024 } }, 0, newDecoderStats());
  const step = 1 << 20;
  let events = 0;
  for (let at = 0; at < text.length; at += step) {
    d.push(text.subarray(at, at + step), 0);
    for (const e of d.take()) { parseEvent(e.m, utc, o); events++; }
  }
  d.flush(0);
  for (const e of d.take()) { parseEvent(e.m, utc, o); events++; }
  return { ms: performance.now() - t0, events };
}

/** The reference: the same bytes only split into lines (what any line reader must do). */
export function splitLines(text: Buffer): { ms: number; lines: number } {
  const t0 = performance.now();
  let lines = 0;
  for (let at = 0; ; ) {
    const nl = text.indexOf(10, at);
    if (nl < 0) break;
    text.toString('utf8', at, nl);
    lines++;
    at = nl + 1;
  }
  return { ms: performance.now() - t0, lines };
}

/** The three data sets, as the speed script and the benchmark measure them. */
export function speedSets(scale = 1): [string, Buffer, string | undefined][] {
  return [
    ['corpus x40', Buffer.from(corpusText().repeat(Math.max(1, Math.round(40 * scale)))), undefined],
    ['synthetic mix', Buffer.from(synthetic(Math.round(400_000 * scale))), undefined],
    ['own pattern', Buffer.from(custom(Math.round(300_000 * scale))), PATTERN],
  ];
}
