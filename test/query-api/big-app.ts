// A generated Spark app of many executors with dynamic-allocation churn: the
// executors start one after another and end one after another, every 17th is
// OOMKilled (exit 137), every 23rd fails (exit 1), the rest are let go (exit
// 0); the driver is still running. Stored through the fixture's seeder (Kafka
// and the real aggregator), lifecycle facts written as the pod watcher does.
import { randomBytes } from 'node:crypto';
import type { Batch } from '../../contract/index.js';
import { batchesOf, source, sparkLine } from '../helpers/seed.js';
import { STACK, type Fixture } from './fixture.js';

export interface BigApp {
  appId: string;
  executors: number;
  lines: number;
  byLevel: Record<string, number>;
  oomKilled: string[];
  failed: string[];
  /** Lines per executor id. */
  perExecutor: Record<string, number>;
}

export const OOM_EVERY = 17;
export const FAIL_EVERY = 23;

export async function seedBigApp(f: Fixture, executors = 200, linesPerExecutor = 20, alreadyStored = f.expected.total): Promise<BigApp> {
  const appId = `spark-${randomBytes(6).toString('hex')}`;
  const t0 = f.t0;
  const big: BigApp = { appId, executors, lines: 0, byLevel: {}, oomKilled: [], failed: [], perExecutor: {} };
  const batches: Batch[] = [];
  const ends: { src: ReturnType<typeof source>; exitCode: number; reason: string; startedAt: number; finishedAt: number }[] = [];
  const ids = ['driver', ...Array.from({ length: executors }, (_, i) => String(i + 1))];
  for (const [k, exec] of ids.entries()) {
    const src = source(appId, exec, { appName: 'churn-wide' });
    // Executor k starts k·2 s after the driver and writes a line every 500 ms.
    const start = t0 + k * 2_000;
    const n = exec === 'driver' ? linesPerExecutor * 3 : linesPerExecutor;
    const lines: Batch['lines'] = [];
    let off = 0;
    for (let i = 0; i < n; i++) {
      const oom = k % OOM_EVERY === 0 && exec !== 'driver';
      const level = oom && i === n - 1 ? 'ERROR' : i % 10 === 9 ? 'WARN' : 'INFO';
      const text = oom && i === n - 1
        ? `${sparkLine(start + i * 500, 'ERROR', 'Executor', `Exception in task ${i} of executor ${exec}`)}\njava.lang.OutOfMemoryError: Java heap space\n\tat java.util.Arrays.copyOf(Arrays.java:3332)`
        : exec !== 'driver' && k % FAIL_EVERY === 0 && i === n - 1
          ? `${sparkLine(start + i * 500, 'ERROR', 'Executor', `task ${i} of executor ${exec} failed`)}\n${STACK}`
          : sparkLine(start + i * 500, level, 'Executor', `task ${i} of executor ${exec} ran`);
      const lvl = /^\S+ \S+ (\w+)/.exec(text)?.[1] ?? 'NONE';
      big.byLevel[lvl] = (big.byLevel[lvl] ?? 0) + 1;
      lines.push({ off, t: start + i * 500 + 20, m: text });
      off += Buffer.byteLength(text) + 1;
    }
    big.perExecutor[exec] = n;
    big.lines += n;
    batches.push(...batchesOf(src, lines, 200));
    if (exec === 'driver') continue;
    const finishedAt = start + n * 500 + 1_000;
    if (k % OOM_EVERY === 0) {
      big.oomKilled.push(exec);
      ends.push({ src, exitCode: 137, reason: 'OOMKilled', startedAt: start, finishedAt });
    } else if (k % FAIL_EVERY === 0) {
      big.failed.push(exec);
      ends.push({ src, exitCode: 1, reason: 'Error', startedAt: start, finishedAt });
    } else ends.push({ src, exitCode: 0, reason: 'Completed', startedAt: start, finishedAt });
  }
  await f.seeder.send(batches);
  await f.seeder.waitForLines(alreadyStored + big.lines);
  for (const e of ends) await f.seeder.lifecycle(e.src, { exitCode: e.exitCode, reason: e.reason, startedAt: e.startedAt, finishedAt: e.finishedAt });
  // The driver still runs: its pod started, no finish yet.
  await f.seeder.lifecycle(source(appId, 'driver', { appName: 'churn-wide' }), { startedAt: t0 });
  return big;
}
