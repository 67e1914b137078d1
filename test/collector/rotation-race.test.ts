// Rotation chains racing the directory scan: log4j2 renames spark.log.8 to
// .9, …, spark.log to .1 in quick steps. A scan that lists the directory
// before such a chain and stats the names after it sees every name, but one
// inode under none of them. That file must not be taken for gone (released,
// then found again as new and read a second time from 0 under a new file id:
// a whole file of duplicates, seen in the chaos run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { collectorEnv, killCollector, sparkLine, startCollector, stopCollector, tempDir, TopicReader } from './harness.js';

test('rotation chains racing the scan: every line once, none read again under a new file id', { timeout: 600_000 }, async () => {
  const { dir, cleanup } = await tempDir('rotrace');
  const reader = await TopicReader.create('rotrace');
  const log = join(dir, 'spark.log');
  let fd = openSync(log, 'a');
  const c = startCollector(collectorEnv(reader.prefix, join(dir, 'state'), join(dir, 'spark.log*'), { SPARKLOGS_POLL_INTERVAL_MS: '10', SPARKLOGS_FLUSH_TIMEOUT_MS: '20' }));
  let n = 0;
  try {
    await c.waitLog('collectorStarted');
    const end = Date.now() + 8000;
    let size = 0;
    while (Date.now() < end) {
      for (let k = 0; k < 20; k++) {
        const line = `${sparkLine('r', n++)}\n`;
        writeSync(fd, line);
        size += line.length;
      }
      if (size >= 4096) {
        closeSync(fd);
        for (let i = 8; i >= 1; i--) if (existsSync(`${log}.${i}`)) renameSync(`${log}.${i}`, `${log}.${i + 1}`);
        renameSync(log, `${log}.1`);
        fd = openSync(log, 'a');
        size = 0;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    closeSync(fd);
    // Lines in files that fell off the end of the chain (.9 overwritten) before being read are lost by the writer's own rotation; wait, then stop.
    assert.equal(await stopCollector(c), 0);
    await reader.drained();
    const byText = new Map<string, number>();
    for (const e of reader.stored()) byText.set(e.m, (byText.get(e.m) ?? 0) + 1);
    const doubled = [...byText.values()].filter((v) => v > 1).length;
    console.log(`rotation race: ${n} lines written, ${byText.size} distinct read, ${doubled} read twice under another id`);
    assert.ok(byText.size > n * 0.5, `most lines arrive (${byText.size} of ${n})`);
    assert.equal(doubled, 0, 'no line is read a second time under a new file id');
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});
