// `sparklogs-aggregator retention`: whole daily line indices older than
// --max-age-days go; --dry-run lists them and deletes nothing; other indices
// (summaries, younger days, other prefixes) are never touched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { expiredIndices } from '../../aggregator/commands/retention.js';
import { dailyIndex, names } from '../../contract/index.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { BIN, cleanup, es } from './harness.js';

const { esUrl } = testStack();
const n = uniqueNames('agg-retention');
after(() => cleanup(esUrl, n));

test('an index goes only when its whole day is older than the limit', () => {
  const nm = names('x');
  const now = Date.UTC(2026, 0, 31, 12);
  const idx = ['x-lines-2026.01.01', 'x-lines-2026.01.02', 'x-lines-2026.01.03', 'x-lines-2026.01.31', 'x-apps', 'x-lines-garbage', 'y-lines-2020.01.01'];
  // Cut-off 2026-01-02T12:00: the 1st ended before it, the 2nd did not.
  assert.deepEqual(expiredIndices(nm, idx, 29, now), ['x-lines-2026.01.01']);
});

test('retention --dry-run lists, retention deletes', { timeout: 60_000 }, async () => {
  const old = `${n.linesIndexPrefix}2020.01.01`;
  const today = dailyIndex(n, Date.now());
  for (const i of [old, today, n.appsIndex]) await es(esUrl, `/${i}`, {}, 'PUT');
  const env = { PATH: process.env.PATH, SPARKLOGS_ES_URL: esUrl, SPARKLOGS_PREFIX: n.prefix, SPARKLOGS_KAFKA_BROKERS: testStack().brokers.join(',') };
  const listed = async () => (await es<{ index: string }[]>(esUrl, `/_cat/indices/${n.prefix}-*?format=json&h=index`)).map((x) => x.index).sort();

  const dry = spawnSync(process.execPath, [BIN, 'retention', '--max-age-days', '30', '--dry-run'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`would delete ${old}\\n`));
  assert.doesNotMatch(dry.stdout, new RegExp(today));
  assert.deepEqual(await listed(), [n.appsIndex, old, today].sort());

  const real = spawnSync(process.execPath, [BIN, 'retention'], { env: { ...env, SPARKLOGS_MAX_AGE_DAYS: '30' }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(real.status, 0, real.stderr);
  assert.match(real.stdout, new RegExp(`deleted ${old}\\n`));
  assert.deepEqual(await listed(), [n.appsIndex, today].sort());

  const missing = spawnSync(process.execPath, [BIN, 'retention'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /maxAgeDays \(--max-age-days, SPARKLOGS_MAX_AGE_DAYS\): required by retention/);
});
