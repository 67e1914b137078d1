// C19: Kafka down while the app keeps logging. The collector stops reading
// (the file is the buffer), its memory stays flat, it logs the outage once and
// its end once, and after the broker is back every line arrives, in order.
// A private Kafka of this test is stopped and started; the shared one is never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../../deploy/local/demo/paths.js';
import { startPrivateStack } from '../helpers/private-stack.js';
import { collectorEnv, killCollector, rssMiB, sparkLine, startCollector, stopCollector, tempDir, TopicReader } from './harness.js';

const OUTAGE_MS = Number(process.env.SPARKLOGS_TEST_OUTAGE_MS ?? 30_000);

// Bounded generously: a private broker's start and restart and the catch-up on
// tens of MB take minutes on a busy machine.
test('C19: Kafka down for a while as the app keeps logging: reading pauses, memory stays bounded, everything arrives after', { timeout: 20 * 60_000 }, async () => {
  const stack = await startPrivateStack({ elasticsearch: false });
  const { dir, cleanup } = await tempDir('c19');
  let reader = await TopicReader.create('c19', stack.brokers);
  const log = join(dir, 'spark.log');
  const metricsPort = await freePort();
  // The stopped broker refuses connections at once, so the outage is seen without a short request timeout; a
  // produce that a busy machine slows past a few seconds is not an outage (it would be logged as a second one).
  const env = { ...collectorEnv(reader.prefix, join(dir, 'state'), log, { SPARKLOGS_METRICS_PORT: String(metricsPort), SPARKLOGS_MAX_IN_FLIGHT_BYTES: String(1 << 20), SPARKLOGS_RETRY_MAX_MS: '2000', SPARKLOGS_REQUEST_TIMEOUT_MS: '15000' }), SPARKLOGS_KAFKA_BROKERS: stack.brokers.join(',') };
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
    // Waits while records keep coming (the collector catches up on tens of MB), minutes without one.
    // On a timeout: who stopped, the collector (its metrics, its last Kafka events) or the reader (the topic holds more than it read)?
    const collectorSays = async (err: Error): Promise<never> => {
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) })
        .then((r) => r.text(), (e: Error) => e.message)
        .then((t) => t.split('\n').filter((l) => /^sparklogs_collector_(lines_(read|sent|acked)_total|unread_bytes|kafka_errors_total)/.test(l)).join('; '));
      const admin = new Kafka({ clientId: 'c19-offsets', brokers: stack.brokers, logLevel: logLevel.NOTHING }).admin();
      const records = await admin.connect().then(() => admin.fetchTopicOffsets(reader.topic)).then((o) => o.reduce((s, p) => s + Number(p.high) - Number(p.low), 0), (e: Error) => e.message);
      await admin.disconnect().catch(() => undefined);
      throw new Error(`${err.message}; the topic holds ${records} records, the reader read ${reader.batches.length} (${reader.offsets.size} distinct offsets); collector metrics: ${metrics}; its last Kafka events: ${JSON.stringify(c.logs.filter((l) => /^kafka|^collector/.test(String(l.event))).slice(-4).map((l) => ({ event: l.event, time: l.time, downMs: l.downMs })))}`, { cause: err });
    };
    await reader.waitForCount(written - 1).catch(collectorSays);
    assert.equal(await stopCollector(c), 0);
    await reader.waitForCount(written).catch(collectorSays);
    await reader.drained();
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
