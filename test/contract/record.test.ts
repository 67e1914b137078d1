import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBatch, encodeBatch, lineId, kafkaKey, checkIdPart, dailyIndex, indexDay, names, RecordDecodeError, type Batch } from '../../contract/index.js';

const src = { appType: 'spark', appId: 'spark-0123', executorId: 'driver', role: 'driver', file: '/l/a.log', fileId: 'f', fileSeq: 0 };

test('a batch survives encode/decode unchanged', () => {
  const b: Batch = { v: 1, src, lines: [{ off: 0, t: 1, m: 'héllo\n\tat x' }, { off: 12, t: 2, m: '', s: 'stderr', tr: 1 }] };
  assert.deepEqual(decodeBatch(encodeBatch(b)), b);
});

test('undecodable records name what is wrong', () => {
  const code = (v: Buffer | null) => {
    try {
      decodeBatch(v);
    } catch (e) {
      assert.ok(e instanceof RecordDecodeError);
      return `${e.code}: ${e.message}`;
    }
    return 'decoded';
  };
  assert.match(code(null), /RECORD_INVALID: empty/);
  assert.match(code(Buffer.from('{not json')), /RECORD_NOT_JSON/);
  assert.match(code(Buffer.from('{"v":2}')), /RECORD_BAD_VERSION: unknown record version 2/);
  assert.match(code(Buffer.from(JSON.stringify({ v: 1, src: { ...src, appId: 'a/b' }, lines: [{ off: 0, t: 0, m: '' }] }))), /RECORD_INVALID: invalid record at \/src\/appId/);
  assert.match(code(Buffer.from(JSON.stringify({ v: 1, src, lines: [] }))), /RECORD_INVALID: invalid record at \/lines/);
});

test('line ids depend only on pod, file identity and offset', () => {
  const a = lineId({ podUid: 'u1', fileId: 'f1' }, 10);
  assert.equal(a, lineId({ podUid: 'u1', fileId: 'f1' }, 10));
  assert.equal(a.length, 22);
  assert.notEqual(a, lineId({ podUid: 'u1', fileId: 'f1' }, 11));
  assert.notEqual(a, lineId({ podUid: 'u1', fileId: 'f2' }, 10));
  assert.notEqual(a, lineId({ podUid: 'u2', fileId: 'f1' }, 10));
});

test('key and id parts', () => {
  assert.equal(kafkaKey(src), 'spark/spark-0123/driver');
  assert.equal(checkIdPart('appId', 'spark-0123'), undefined);
  assert.match(checkIdPart('SPARK_APPLICATION_ID', '') ?? '', /SPARK_APPLICATION_ID: required/);
  assert.match(checkIdPart('appId', '../etc') ?? '', /appId: expected letters/);
});

test('daily index names round-trip to their day', () => {
  const n = names('x');
  const t = Date.UTC(2026, 0, 5, 23, 59);
  assert.equal(dailyIndex(n, t), 'x-lines-2026.01.05');
  assert.equal(indexDay(n, 'x-lines-2026.01.05')?.getTime(), Date.UTC(2026, 0, 5));
  assert.equal(indexDay(n, 'x-apps'), undefined);
});

test('config errors name the key, the flag and the variable, and echo what was typed', async () => {
  const { Type } = await import('@sinclair/typebox');
  const { loadConfig, ConfigError } = await import('../../contract/config.js');
  const schema = Type.Object({ port: Type.Integer({ minimum: 1, maximum: 65535, default: 8080 }), name: Type.String({ minLength: 1 }) });
  const load = (argv: string[], env: Record<string, string> = {}) => loadConfig('x', schema, { argv, env, envPrefix: 'SPARKLOGS_' });
  assert.throws(() => load(['--port', 'abc', '--name', 'n']), (e: unknown) => e instanceof ConfigError && /port \(--port, SPARKLOGS_PORT\): expected a whole number, >= 1, <= 65535, got "abc" from --port/.test(e.message));
  assert.throws(() => load([]), (e: unknown) => e instanceof ConfigError && /name \(--name, SPARKLOGS_NAME\): required, not set/.test(e.message));
  const ok = load([], { SPARKLOGS_NAME: 'a', SPARKLOGS_PORT: '9000' });
  assert.ok(!ok.help && ok.config.port === 9000 && Object.isFrozen(ok.config));
});
