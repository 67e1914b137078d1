// A custom layout given to a pod (SPARKLOGS_LOG_PATTERN, from a pod
// annotation through the Downward API): the real collector cuts that pod's
// files with it and sends it with every batch, so the aggregator parses with
// the same pattern; a pattern it cannot use stops start-up naming the conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decoderOptions, decoderSettings, SpoolManifestSchema } from '../../collector/spool/spool.js';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { Value } from '@sinclair/typebox/value';
import { collectorEnv, killCollector, startCollector, stopCollector, tempDir, TopicReader, withTimeout } from './harness.js';
import { lineItems } from '../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { names } from '../../contract/names.js';

// A layout no built-in start test knows: the level first, the date in braces.
const PATTERN = '%-5p {%d{yyyy-MM-dd HH:mm:ss.SSS}} <%t> %c - %m%n';

test('an unsupported conversion in the pod\'s pattern stops start-up, naming it', async () => {
  const c = startCollector({ PATH: process.env.PATH ?? '', SPARKLOGS_PATHS: '/tmp/none/*.log', SPARKLOGS_STATE_DIR: '/tmp/none-state', SPARKLOGS_APP_ID: 'a', SPARKLOGS_EXECUTOR_ID: '1', SPARKLOGS_LOG_PATTERN: '%d %-5p %highlight %m%n' });
  assert.equal(await withTimeout(c.exited, 60_000, 'collector exit'), 2);
  assert.match(c.stderr, /logPattern \(--log-pattern, SPARKLOGS_LOG_PATTERN\): log pattern "%d %-5p %highlight %m%n": the conversion %highlight at column 9 is not supported/);
});

test("the pod's pattern cuts its files and travels with every batch to the aggregator's parser", async () => {
  const { dir, cleanup } = await tempDir('log-pattern');
  const reader = await TopicReader.create('log-pattern');
  try {
    const log = join(dir, 'app.log');
    const ev = (i: number, level = 'INFO ') => `${level} {2026-11-30 09:05:22.${String(i).padStart(3, '0')}} <worker ${i}> org.example.Loader - record ${i} loaded`;
    const trace = [ev(5, 'ERROR').replace('loaded', 'failed'), 'java.io.IOException: gone', '\tat org.example.Loader.load(Loader.java:12)', 'Caused by: java.lang.IllegalStateException: closed', '\t... 3 more'];
    const lines = [ev(1), ev(2), ...trace, ev(6)];
    await writeFile(log, `${lines.join('\n')}\n`);
    const c = startCollector(collectorEnv(reader.prefix, join(dir, 'state'), log, { SPARKLOGS_LOG_PATTERN: PATTERN }));
    try {
      await c.waitLog('collectorStarted', 120_000);
      await reader.waitForCount(4, 120_000);
      assert.equal(await stopCollector(c, 120_000), 0);
    } finally {
      await killCollector(c);
    }
    assert.deepEqual(reader.stored().map((e) => e.m), [lines[0], lines[1], trace.join('\n'), lines[7]]);
    assert.ok(reader.batches.every((b) => b.src.pattern === PATTERN), 'every batch names the pattern');
    const docs = reader.batches.flatMap((b) => lineItems(b, names('sparklogs'), new ZonedClock('UTC'))).map((i) => i.doc);
    assert.deepEqual(docs.map((d) => [d.level, d.thread, d.logger, d.exception]), [
      ['INFO', 'worker 1', 'org.example.Loader', undefined], ['INFO', 'worker 2', 'org.example.Loader', undefined],
      ['ERROR', 'worker 5', 'org.example.Loader', 'java.io.IOException'], ['INFO', 'worker 6', 'org.example.Loader', undefined],
    ]);
    assert.equal(docs[0]!['@timestamp'], Date.parse('2026-11-30T09:05:22.001Z'));
  } finally {
    await reader.stop();
    await cleanup();
  }
});

test('a spool entry records the pattern: sparklogs-spool cuts its bytes the same way', () => {
  const settings = decoderSettings({ format: 'plain', maxLineBytes: 65536, multiline: true, appType: 'spark', logPattern: PATTERN, maxEventLines: 1000, maxEventBytes: 524288 });
  assert.equal(settings.pattern, PATTERN);
  assert.ok(Value.Check(SpoolManifestSchema, { v: 1, createdAt: 0, identity: { appType: 'spark', pattern: PATTERN }, decoder: settings, files: [] }));
  const d = new FileDecoder(decoderOptions(settings), 0, newDecoderStats());
  d.push(Buffer.from('INFO  {2026-11-30 09:05:22.001} <main> a.B - one\nnot a header\nWARN  {2026-11-30 09:05:22.002} <main> a.B - two\n'), 0);
  d.flush(0);
  assert.deepEqual(d.take().map((e) => e.m), ['INFO  {2026-11-30 09:05:22.001} <main> a.B - one\nnot a header', 'WARN  {2026-11-30 09:05:22.002} <main> a.B - two']);
});
