// Rotation (C1, C2, C6, C7, C9): files renamed, deleted, recreated or
// re-pointed while the collector runs or is down. Every line written must
// arrive exactly once (after dedup by line id) and in (fileSeq, off) order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { collectorEnv, killCollector, sparkLine, startCollector, stopCollector, tempDir, TopicReader } from './harness.js';

const lines = (tag: string, from: number, to: number) => Array.from({ length: to - from }, (_, k) => sparkLine(tag, from + k));
const text = (ls: string[]) => ls.map((l) => `${l}\n`).join('');

test('C1: rename rotation while tailing; the writer goes on in a new file', async () => {
  const { dir, cleanup } = await tempDir('c1');
  const reader = await TopicReader.create('c1');
  const log = join(dir, 'spark.log');
  const c = startCollector(collectorEnv(reader.prefix, join(dir, 'state'), join(dir, '*.log')));
  try {
    await writeFile(log, text(lines('a', 0, 200)));
    await c.waitLog('collectorStarted');
    await appendFile(log, text(lines('a', 200, 300)));
    await rename(log, join(dir, 'spark.log.1')); // out of the glob: only the held descriptor still reads it
    await appendFile(join(dir, 'spark.log.1'), text(lines('a', 300, 320))); // log4j writes a little more before reopening
    await writeFile(log, text(lines('b', 0, 100)));
    await reader.waitForCount(420);
    await new Promise((r) => setTimeout(r, 500));
    const got = reader.stored();
    assert.deepEqual(got.map((e) => e.m), [...lines('a', 0, 320), ...lines('b', 0, 100)]);
    assert.equal(new Set(got.map((e) => e.fileId)).size, 2);
    assert.equal(await stopCollector(c), 0);
    assert.ok(c.logs.some((l) => l.event === 'fileReleased'));
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});
