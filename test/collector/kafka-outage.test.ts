// C19: Kafka down while the app keeps logging. The collector stops reading
// (the file is the buffer), its memory stays flat, it logs the outage once and
// its end once, and after the broker is back every line arrives, in order.
// A private Kafka of this test is stopped and started; the shared one is never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPrivateStack } from '../helpers/private-stack.js';
import { collectorEnv, killCollector, rssMiB, sparkLine, startCollector, stopCollector, tempDir, TopicReader } from './harness.js';

const OUTAGE_MS = Number(process.env.SPARKLOGS_TEST_OUTAGE_MS ?? 30_000);

test('C19: Kafka down for a while as the app keeps logging: reading pauses, memory stays bounded, everything arrives after', async () => {
  const stack = await startPrivateStack({ elasticsearch: false });
  const { dir, cleanup } = await tempDir('c19');
  let reader = await TopicReader.create('c19', stack.brokers);
  const log = join(dir, 'spark.log');
  const env = { ...collectorEnv(reader.prefix, join(dir, 'state'), log, { SPARKLOGS_MAX_IN_FLIGHT_BYTES: String(1 << 20), SPARKLOGS_RETRY_MAX_MS: '2000', SPARKLOGS_REQUEST_TIMEOUT_MS: '3000' }), SPARKLOGS_KAFKA_BROKERS: stack.brokers.join(',') };
  const c = startCollector(env);
  let n = 0;
  const write = async (count: number) => {
    const chunk: string[] = [];
    for (let k = 0; k < count; k++) chunk.push(sparkLine('x', n++));
    await appendFile(log, `${chunk.join('\n')}\n`);
  };
  try {
    await writeFile(log, '');
    await c.waitLog('collectorStarted');
    await write(5000);
    await reader.waitForCount(4999);
    await reader.stop();
    await stack.stop('kafka');
    const rss: number[] = [];
    const end = Date.now() + OUTAGE_MS;
    while (Date.now() < end) {
      await write(5000); // ~300 KB per step, ~1.5 MB/s
      rss.push(await rssMiB(c.proc.pid!));
      await new Promise((r) => setTimeout(r, 200));
    }
    const written = n;
    await stack.start('kafka');
    reader = await TopicReader.create('c19', stack.brokers, reader.prefix);
    await reader.waitForCount(written - 1, 120_000);
    assert.equal(await stopCollector(c), 0);
    await reader.waitForCount(written, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const got = reader.stored().map((e) => e.m);
    assert.equal(got.length, written);
    assert.deepEqual(got, Array.from({ length: written }, (_, i) => sparkLine('x', i)));
    assert.equal(c.logs.filter((l) => l.event === 'kafkaUnavailable').length, 1);
    assert.equal(c.logs.filter((l) => l.event === 'kafkaRecovered').length, 1);
    // Flat: the last third of the outage holds no more memory than the first third plus slack (GC noise).
    const third = Math.floor(rss.length / 3);
    const early = Math.max(...rss.slice(0, third));
    const late = Math.max(...rss.slice(-third));
    console.log(`C19: ${written} lines, ${Math.round((written * 44) / 1e6)} MB written; collector RSS during a ${OUTAGE_MS} ms outage: min ${Math.min(...rss)} MiB, early max ${early} MiB, late max ${late} MiB`);
    assert.ok(late <= early + 25, `RSS grew from ${early} to ${late} MiB during the outage`);
  } finally {
    await killCollector(c);
    await reader.stop();
    await stack.destroy();
    await cleanup();
  }
});
