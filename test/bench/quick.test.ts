// `npm run bench -- --quick` as a smoke test of the harness: it runs every
// part against the test stack and prints every figure. It asserts that the
// harness ran, never a speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testStack } from '../helpers/stack.js';
import { PARTS } from './parts/index.js';
import type { Run } from './report.js';

const run = promisify(execFile);

test('the benchmark harness runs every part in quick mode and prints every figure', async () => {
  const { brokers, esUrl } = testStack();
  const out = await mkdtemp(join(tmpdir(), 'sparklogs-bench-quick-'));
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'main.ts'), '--quick', '--kafka-brokers', brokers.join(','), '--es-url', esUrl, '--out', out], {
      timeout: 540_000, maxBuffer: 16 << 20,
    });
    const result = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as Run;
    const md = await readFile(join(out, 'results.md'), 'utf8');
    for (const part of Object.keys(PARTS)) {
      assert.ok(result.figures.some((f) => f.part === part), `part ${part} reported figures`);
    }
    for (const f of result.figures) {
      assert.match(stdout, new RegExp(`^bench: ${f.part} / ${f.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm'), `printed: ${f.part} / ${f.name}`);
      assert.ok(md.includes(`| ${f.part} | ${f.name} |`), `in the table: ${f.part} / ${f.name}`);
    }
    assert.match(stdout, /bench: done in \d+ s/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
