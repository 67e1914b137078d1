// Realistic Spark executor logs from a fixed seed: the same bytes on every
// run, written once into a cache directory and reused, so every shipper in a
// run (and every run on a machine) reads exactly the same input.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';

export interface DataSpec {
  files: number;
  /** Events per file; about 2% of them carry a stack trace of several lines. */
  eventsPerFile: number;
  seed: number;
}

export interface DataSet {
  spec: DataSpec;
  dir: string;
  files: string[];
  bytes: number;
  /** Physical lines (what kcat sends: one message per line). */
  lines: number;
  /** Log events (a stack trace joined to the line before it: what the collector and rsyslog send). */
  events: number;
}

import { prng } from '../../deploy/local/demo/workload.js';
import { cacheHome } from '../helpers/private-stack.js';

export { prng, cacheHome };

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const hex = (r: Rand, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const size = (r: Rand) => `${(r() * 900 + 1).toFixed(1)} ${pick(r, ['B', 'KiB', 'MiB'])}`;
const ip = (r: Rand) => `10.0.${int(r, 0, 31)}.${int(r, 2, 250)}`;

const INFO: ((r: Rand, task: () => string) => string)[] = [
  (_r, task) => `Executor: Running ${task()}`,
  (r, task) => `Executor: Finished ${task()}. ${int(r, 1200, 9000)} bytes result sent to driver`,
  (_r, task) => `CoarseGrainedExecutorBackend: Got assigned ${task().replace(/ in stage.*\(/, ' (')}`,
  (r) => `ShuffleBlockFetcherIterator: Getting ${int(r, 10, 400)} (${size(r)}) non-empty blocks including ${int(r, 0, 9)} (${size(r)}) local and 0 (0.0 B) host-local and 0 (0.0 B) push-merged-local and ${int(r, 10, 390)} (${size(r)}) remote blocks`,
  (r) => `ShuffleBlockFetcherIterator: Started ${int(r, 1, 40)} remote fetches in ${int(r, 1, 90)} ms`,
  (r) => `MemoryStore: Block broadcast_${int(r, 1, 400)}_piece0 stored as bytes in memory (estimated size ${size(r)}, free ${(r() * 4).toFixed(1)} GiB)`,
  (r) => `TorrentBroadcast: Reading broadcast variable ${int(r, 1, 400)} with 1 pieces (estimated total size 4.0 MiB)`,
  (r) => `FileScanRDD: Reading File path: s3a://datalake-prod/warehouse/events/dt=2024-11-${String(int(r, 1, 28)).padStart(2, '0')}/part-${String(int(r, 0, 9999)).padStart(5, '0')}-${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}.c000.snappy.parquet, range: 0-${int(r, 1e6, 134217728)}, partition values: [${int(r, 19000, 20000)}]`,
  (r) => `CodeGenerator: Code generated in ${(r() * 40).toFixed(6)} ms`,
  (r) => `TransportClientFactory: Successfully created connection to /${ip(r)}:7337 after ${int(r, 0, 20)} ms (0 ms spent in bootstraps)`,
  (r) => `ShuffleExternalSorter: Thread ${int(r, 40, 200)} spilling sort data of ${size(r)} to disk (${int(r, 1, 9)} time so far)`,
  (r) => `MapOutputTrackerWorker: Updating epoch to ${int(r, 1, 90)} and clearing cache; don't have map outputs for shuffle ${int(r, 0, 90)}, fetching them from NettyRpcEndpointRef(spark://MapOutputTracker@${ip(r)}:7078)`,
  (r) => `BlockManager: Found block rdd_${int(r, 1, 90)}_${int(r, 0, 999)} locally; reading it from the memory store (${size(r)}) for task attempt ${int(r, 0, 3)}`,
  (r) => `PythonRunner: Times: total = ${int(r, 40, 9000)}, boot = ${int(r, 1, 40)}, init = ${int(r, 1, 400)}, finish = ${int(r, 1, 400)}`,
];
const WARN = [
  (r: Rand) => `BlockManager: Putting block rdd_${int(r, 1, 90)}_${int(r, 0, 999)} failed due to exception java.io.IOException: Connection reset by peer.`,
  (r: Rand) => `TaskMemoryManager: Failed to allocate a page (${int(r, 1, 64)} MiB bytes), try again after spilling ${size(r)} of sort data.`,
];
const FRAMES = [
  'org.apache.spark.network.client.TransportResponseHandler.channelInactive(TransportResponseHandler.java:117)',
  'org.apache.spark.network.server.TransportChannelHandler.channelInactive(TransportChannelHandler.java:131)',
  'io.netty.channel.AbstractChannelHandlerContext.invokeChannelInactive(AbstractChannelHandlerContext.java:305)',
  'org.apache.spark.storage.ShuffleBlockFetcherIterator.next(ShuffleBlockFetcherIterator.scala:755)',
  'org.apache.spark.sql.execution.datasources.FileScanRDD$$anon$1.hasNext(FileScanRDD.scala:125)',
  'org.apache.spark.scheduler.ResultTask.runTask(ResultTask.scala:90)',
  'org.apache.spark.executor.Executor$TaskRunner.$anonfun$run$3(Executor.scala:509)',
  'org.apache.spark.util.Utils$.tryWithSafeFinally(Utils.scala:1491)',
  'java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)',
  'java.base/java.lang.Thread.run(Thread.java:840)',
];
// Sample contexts appended until a line reaches its drawn length: real Spark
// lines of 200-300 bytes carry such ids (queries, jobs, attempts, hosts).
const DETAILS = [
  (r: Rand) => ` [queryId=${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}]`,
  (r: Rand) => ` [host=ip-${ip(r).replaceAll('.', '-')}.eu-west-1.compute.internal]`,
  (r: Rand) => ` [job=${int(r, 0, 400)} stage=${int(r, 0, 900)}.${int(r, 0, 2)} attempt=${int(r, 0, 3)}]`,
  (r: Rand) => ` [jobGroup=etl-daily-${hex(r, 6)} pool=default]`,
];

const stamp = (ms: number) => {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
};

/** One event: a 200-300-byte line, or (about 2%) an ERROR line with a stack trace. Returns the text without the final newline. */
export function sparkEvent(r: Rand, timeMs: number, tid: number): { text: string; lines: number } {
  const task = () => `task ${tid % 200}.0 in stage ${Math.floor(tid / 200)}.0 (TID ${tid})`;
  const roll = r();
  if (roll < 0.02) {
    const head = `${stamp(timeMs)} ERROR Executor: Exception in task ${tid % 200}.0 in stage ${Math.floor(tid / 200)}.0 (TID ${tid})`;
    const frames = FRAMES.slice(0, int(r, 4, FRAMES.length)).map((f) => `\tat ${f}`);
    const cause = ['Caused by: java.io.IOException: Connection reset by peer', `\tat ${FRAMES[0]}`, `\t... ${int(r, 8, 40)} more`];
    const lines = [head, `java.io.IOException: Failed to fetch shuffle block from ${ip(r)}:7337`, ...frames, ...cause];
    return { text: lines.join('\n'), lines: lines.length };
  }
  const body = roll < 0.06 ? `WARN ${pick(r, WARN)(r)}` : `INFO ${pick(r, INFO)(r, task)}`;
  let line = `${stamp(timeMs)} ${body}`;
  const want = int(r, 200, 300);
  while (line.length < want) line += pick(r, DETAILS)(r);
  return { text: line.length > 300 ? line.slice(0, 300) : line, lines: 1 };
}

/** Generates (or finds in the cache) one file per executor. */
export async function ensureData(spec: DataSpec): Promise<DataSet> {
  const tag = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 10);
  const dir = join(cacheHome(), 'bench', 'data', `${spec.files}x${spec.eventsPerFile}-s${spec.seed}-${tag}`);
  const manifest = join(dir, 'manifest.json');
  try {
    return JSON.parse(await readFile(manifest, 'utf8')) as DataSet;
  } catch {
    // not generated yet (or an interrupted generation): start over below
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const r = prng(spec.seed);
  const set: DataSet = { spec, dir, files: [], bytes: 0, lines: 0, events: 0 };
  // A fixed clock: the same bytes on every run (the aggregator keeps the collection time beside it).
  const start = Date.UTC(2024, 10, 21, 6, 0, 0);
  for (let f = 0; f < spec.files; f++) {
    const path = join(dir, `executor-${f + 1}.log`);
    const out = createWriteStream(path);
    let chunk = '';
    for (let i = 0; i < spec.eventsPerFile; i++) {
      const ev = sparkEvent(r, start + i * 7, i);
      chunk += `${ev.text}\n`;
      set.lines += ev.lines;
      set.events++;
      if (chunk.length > 1 << 20) {
        set.bytes += Buffer.byteLength(chunk);
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
    set.bytes += Buffer.byteLength(chunk);
    out.end(chunk);
    await once(out, 'finish');
    set.files.push(path);
  }
  await writeFile(`${manifest}.tmp`, JSON.stringify(set));
  await rename(`${manifest}.tmp`, manifest);
  return set;
}
