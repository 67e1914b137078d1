// copytruncate and plain truncation (C3, C4, C5): content written after the
// truncation is read from 0 under a new file id, old lines keep their ids,
// no record carries a NUL run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, copyFile, open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectorEnv, killCollector, sparkLine, startCollector, stopCollector, tempDir, TopicReader } from './harness.js';

const lines = (tag: string, from: number, to: number) => Array.from({ length: to - from }, (_, k) => sparkLine(tag, from + k));
const text = (ls: string[]) => ls.map((l) => `${l}\n`).join('');

async function scenario(label: string, body: (log: string, dir: string, reader: TopicReader) => Promise<string[]>) {
  const { dir, cleanup } = await tempDir(label);
  const reader = await TopicReader.create(label);
  const log = join(dir, 'spark.log');
  await writeFile(log, '');
  const c = startCollector(collectorEnv(reader.prefix, join(dir, 'state'), log));
  try {
    await c.waitLog('collectorStarted');
    const expected = await body(log, dir, reader);
    assert.equal(await stopCollector(c), 0);
    await reader.waitForCount(expected.length);
    await new Promise((r) => setTimeout(r, 700));
    const got = reader.stored();
    assert.deepEqual(got.map((e) => e.m), expected);
    assert.ok(got.every((e) => !e.m.includes('\0')));
    assert.ok(c.logs.some((l) => l.event === 'fileTruncated'));
    return got;
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
}

test('C3: copytruncate: new content read from 0, nothing duplicated', async () => {
  const got = await scenario('c3', async (log, dir, reader) => {
    await appendFile(log, text(lines('a', 0, 300)));
    await reader.waitForCount(300);
    await copyFile(log, join(dir, 'spark.log.1')); // not watched: a copy of text already read
    await truncate(log, 0);
    await new Promise((r) => setTimeout(r, 200));
    await appendFile(log, text(lines('b', 0, 50)));
    return [...lines('a', 0, 300), ...lines('b', 0, 50)];
  });
  assert.equal(new Set(got.map((e) => e.fileId)).size, 2);
  assert.ok(got[300]!.fileSeq > got[0]!.fileSeq);
});

test('C4: copytruncate with a writer that keeps its offset (NUL hole): no NUL in any record', async () => {
  await scenario('c4', async (log, _dir, reader) => {
    const fh = await open(log, 'r+'); // not O_APPEND, like a log4j FileAppender without append
    let pos = 0;
    const w = async (s: string) => {
      const b = Buffer.from(s);
      await fh.write(b, 0, b.length, pos);
      pos += b.length;
    };
    await w(text(lines('a', 0, 200)));
    await reader.waitForCount(200);
    await truncate(log, 0);
    await new Promise((r) => setTimeout(r, 200));
    await w(text(lines('b', 0, 20))); // lands after a hole of NULs as long as the old content
    await fh.close();
    return [...lines('a', 0, 200), ...lines('b', 0, 20)];
  });
});

test('C5: truncate only, then more lines: the following lines are read', async () => {
  await scenario('c5', async (log, _dir, reader) => {
    await appendFile(log, text(lines('a', 0, 100)));
    await reader.waitForCount(100);
    await truncate(log, 0);
    await new Promise((r) => setTimeout(r, 200));
    await appendFile(log, text(lines('b', 0, 10)));
    return [...lines('a', 0, 100), ...lines('b', 0, 10)];
  });
});
