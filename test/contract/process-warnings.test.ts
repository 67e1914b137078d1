// Node's process warnings reach the services' own JSON log, not stderr; the
// one kafkajs 2.2 causes on Node 24 and newer on every client (a negative
// timer delay) is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LOG = fileURLToPath(new URL('../../contract/log.ts', import.meta.url));

test('process warnings are JSON log lines; the kafkajs negative-timer warning is dropped', () => {
  const script = `
    const { createLogger, kafkaLogBridge } = await import(${JSON.stringify(LOG)});
    kafkaLogBridge(createLogger('t'));
    setTimeout(() => {}, -1796045204559);
    process.emitWarning('something to know', { code: 'SPARKLOGS_TEST' });
    await new Promise((r) => setTimeout(r, 50));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'nothing on stderr');
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; warning?: string; code?: string });
  assert.deepEqual(lines.map((l) => [l.level, l.msg, l.warning, l.code]), [[40, 'something to know', 'Warning', 'SPARKLOGS_TEST']]);
});
