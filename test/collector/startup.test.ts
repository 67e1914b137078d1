// Start-up of the real binary: --help lists every option, a bad value or a
// missing identity stops it with the key, what was expected and exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CollectorConfigSchema } from '../../collector/config.js';
import { resolveIdentity } from '../../collector/identity.js';
import { startCollector, withTimeout } from './harness.js';

const base = { PATH: process.env.PATH ?? '', SPARKLOGS_PATHS: '/tmp/none/*.log', SPARKLOGS_STATE_DIR: '/tmp/none-state' };

async function run(env: Record<string, string>, args: string[] = []) {
  const c = startCollector(env, args);
  const code = await withTimeout(c.exited, 15_000, 'collector exit');
  return { code, out: c.logs.map((l) => l.text ?? JSON.stringify(l)).join('\n'), err: c.stderr };
}

test('--help lists every option with its variable', async () => {
  const { code, out } = await run(base, ['--help']);
  assert.equal(code, 0);
  for (const key of Object.keys(CollectorConfigSchema.properties)) {
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    assert.match(out, new RegExp(`--${flag} `), key);
  }
  assert.match(out, /SPARKLOGS_POD_NAME/);
});

test('a bad value names the key, the flag, the variable and what was expected', async () => {
  const { code, err } = await run({ ...base, SPARKLOGS_APP_ID: 'a', SPARKLOGS_EXECUTOR_ID: '1', SPARKLOGS_MAX_LINE_BYTES: 'lots', SPARKLOGS_FORMAT: 'xml' });
  assert.equal(code, 2);
  assert.match(err, /maxLineBytes \(--max-line-bytes, SPARKLOGS_MAX_LINE_BYTES\): expected a whole number/);
  assert.match(err, /format \(--format, SPARKLOGS_FORMAT\): expected one of "auto", "plain", "cri"/);
});

test('a spark executor without an app id is a start-up error naming the variables', async () => {
  const { code, err } = await run({ ...base, SPARK_EXECUTOR_ID: '4' });
  assert.equal(code, 2);
  assert.match(err, /appId \(SPARKLOGS_APP_ID or SPARK_APPLICATION_ID\): required/);
});

test('identity profiles', () => {
  const id = (c: Record<string, string>, env: Record<string, string> = {}) => resolveIdentity({ appType: 'spark', ...c } as never, env);
  assert.deepEqual(id({}, { SPARK_APPLICATION_ID: 'spark-1', SPARK_EXECUTOR_ID: '7' }), { appType: 'spark', appId: 'spark-1', executorId: '7', role: 'executor' });
  assert.equal(id({ appId: 'spark-1', role: 'driver' }).executorId, 'driver');
  assert.equal(id({ appType: 'flink', appId: 'cl-1', role: 'jobmanager' }).executorId, 'jobmanager');
  assert.equal(id({ appType: 'flink', appId: 'cl-1', pod: 'cl-1-taskmanager-1-2' }).executorId, 'cl-1-taskmanager-1-2');
  assert.equal(id({ appType: 'flume', appId: 'ingest', executorId: 'agent1' }).role, 'agent');
  assert.throws(() => id({ appType: 'generic', appId: 'a' }), /executorId \(SPARKLOGS_EXECUTOR_ID\): required/);
  assert.throws(() => id({ appId: 'a/../b', executorId: '1' }), /appId .*expected letters/);
});
