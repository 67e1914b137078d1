// One simulated Spark container: writes its driver or executor log the way
// log4j2's rolling file appender does (rename rotation at a size bound) at
// the times the app plan gives, then exits like the JVM would (52 after an
// OutOfMemoryError). Usage: spark-pod.js <run.json> <driver|executorId> <logDir>
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { driverEvents, executorEvents, formatEvent, type AppPlan } from './workload.js';

export interface PodRun {
  plan: AppPlan;
  startedAt: number; // wall-clock ms of the app's start
  seed: number;
  rotateBytes: number;
  /** Where every written event is recorded (<dir>/<driver|id>.jsonl), for the end-to-end test. */
  truthDir?: string;
}

const [runFile, who, logDir] = process.argv.slice(2);
if (!runFile || !who || !logDir) {
  process.stderr.write('usage: spark-pod.js <run.json> <driver|executorId> <logDir>\n');
  process.exit(2);
}
const run = JSON.parse(readFileSync(runFile, 'utf8')) as PodRun;
const ex = run.plan.executors.find((e) => e.executorId === who);
const events = who === 'driver' ? driverEvents(run.plan, run.seed) : executorEvents(run.plan, ex!, run.seed + Number(who));
const path = join(logDir, 'spark.log');
const truthFile = run.truthDir ? join(run.truthDir, `${who}.jsonl`) : undefined;
let fd = openSync(path, 'a');
let size = existsSync(path) ? statSync(path).size : 0;

function rotate() {
  closeSync(fd);
  for (let i = 8; i >= 1; i--) {
    if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  }
  renameSync(path, `${path}.1`);
  fd = openSync(path, 'a');
  size = 0;
}

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});

for (const { at, e } of events) {
  const wait = run.startedAt + at - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  if (stopping) break;
  const text = formatEvent(Date.now(), e);
  // One write per event: a stack trace never straddles two writes.
  writeSync(fd, text);
  size += Buffer.byteLength(text);
  if (truthFile) appendFileSync(truthFile, JSON.stringify({ level: e.level, text: text.slice(0, -1) }) + '\n');
  if (size >= run.rotateBytes) rotate();
}
closeSync(fd);
process.exit(ex?.fate === 'oom' && !stopping ? 52 : 0);
