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
import { TARGETS } from './targets.js';

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
    // Every target of the issue has a status, printed and in results.md and results.json.
    assert.equal(result.targets.length, TARGETS.length);
    for (const t of result.targets) {
      assert.ok(['met', 'missed', 'not measured'].includes(t.status), `${t.target}: ${t.status}`);
      assert.ok(stdout.includes(`${t.target}: ${t.measured}`), `printed: target ${t.target}`);
      assert.ok(md.includes(`| ${t.target} | **${t.status}**`), `in results.md: target ${t.target}`);
    }
    // Quick mode still runs rounds: the ratios of the parts that have references carry them.
    assert.ok(result.rounds >= 2);
    assert.ok(result.figures.some((f) => f.part === 'aggregator' && f.rounds?.of === 'ratio' && f.rounds.values.length === result.rounds), 'the aggregator ratio from rounds');
    // The peers and node-mode parts too (the peers part's collector figures carry the rounds even when no peer is built).
    const ofRounds = (part: string, of: 'ratio' | 'value') => result.figures.some((f) => f.part === part && f.rounds?.of === of && f.rounds.values.length + f.rounds.failed === result.rounds);
    assert.ok(ofRounds('peers', 'value'), 'the peers part in rounds');
    assert.ok(ofRounds('node-mode', 'ratio'), 'the node-mode ratios from rounds');
    assert.match(stdout, /ratio [\d.]+ \(median of \d+ rounds: /);
    assert.match(stdout, /bench: done in \d+ s/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
