// Spark 4's structured logging (deploy/spark/log4j2-json.properties): every
// line is one JSON object, a stack trace inside it. With the Spark profile's
// multiline joining on, each object must still be its own event: a JSON line
// starts an event, and plain-text stack traces around it still join theirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectorEnv, killCollector, sparkLine, startCollector, stopCollector, tempDir, TopicReader } from './harness.js';

// As Spark 4.2.0 wrote them with the repository's JSON file (the marker's MDC context, an exception).
const json = (i: number) => `{"ts":"2026-11-30T09:05:22.${String(i).padStart(3, '0')}Z","level":"INFO","msg":"sparklogs-marker app=local-1 stage=0 partition=0 attempt=0 seq=${i}/40","context":{"task_name":"task 0.0 in stage 0.0 (TID 0)"},"logger":"dev.sparklogs.e2e.Marker","thread":"Executor task launch worker for task 0.0 in stage 0.0 (TID 0)"}`;
const failure = '{"ts":"2026-11-30T09:05:22.356Z","level":"ERROR","msg":"Exception in task 0.0 in stage 1.0 (TID 2)","context":{"task_name":"task 0.0 in stage 1.0 (TID 2)"},"exception":{"class":"java.lang.IllegalStateException","msg":"injected","stacktrace":[{"class":"dev.sparklogs.e2e.PhaseTask","method":"call","file":"PhaseTask.java","line":60}]},"logger":"org.apache.spark.executor.Executor","thread":"Executor task launch worker for task 0.0 in stage 1.0 (TID 2)"}';

test('Spark 4 JSON lines: every object its own event, in order, beside joined plain-text traces', async () => {
  const { dir, cleanup } = await tempDir('json-events');
  const reader = await TopicReader.create('json-events');
  try {
    const log = join(dir, 'spark.log');
    const plainTrace = [sparkLine('plain', 0), 'java.lang.RuntimeException: boom', '\tat x.Y.z(Y.java:1)'];
    const lines = [...Array.from({ length: 20 }, (_, i) => json(i + 1)), failure, ...plainTrace, ...Array.from({ length: 20 }, (_, i) => json(i + 21))];
    await writeFile(log, `${lines.join('\n')}\n`);
    const c = startCollector(collectorEnv(reader.prefix, join(dir, 'state'), log));
    try {
      await c.waitLog('collectorStarted', 120_000);
      // 41 JSON objects and one joined plain-text event.
      await reader.waitForCount(42, 120_000);
      assert.equal(await stopCollector(c, 120_000), 0);
    } finally {
      await killCollector(c);
    }
    const got = reader.stored().map((e) => e.m);
    assert.deepEqual(got, [...lines.slice(0, 21), plainTrace.join('\n'), ...lines.slice(24)]);
  } finally {
    await reader.stop();
    await cleanup();
  }
});
