// The follow stream's poll cadence: fast while lines come, slower once they
// stop (bounds an idle follower's searches), never faster than followPollMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigSchema } from '../../query-api/config.js';
import { pollDelay } from '../../query-api/routes/follow.js';
import { Value } from '@sinclair/typebox/value';

test('a follow stream polls every followPollMs while lines come, then every followIdlePollMs', () => {
  const cfg = { followPollMs: 250, followIdlePollMs: 1000, followActiveMs: 5000 };
  assert.equal(pollDelay(cfg, 0), 250);
  assert.equal(pollDelay(cfg, 4999), 250);
  assert.equal(pollDelay(cfg, 5000), 1000);
  assert.equal(pollDelay(cfg, 3_600_000), 1000);
});

test('an idle poll is never faster than the active one', () => {
  assert.equal(pollDelay({ followPollMs: 2000, followIdlePollMs: 500, followActiveMs: 1000 }, 10_000), 2000);
  assert.equal(pollDelay({ followPollMs: 200, followIdlePollMs: 1000, followActiveMs: 0 }, 0), 1000);
});

test('the defaults: 250 ms while lines come, 1 s after 5 s without one', () => {
  const d = Value.Default(ConfigSchema, {}) as { followPollMs: number; followIdlePollMs: number; followActiveMs: number };
  assert.deepEqual([d.followPollMs, d.followIdlePollMs, d.followActiveMs], [250, 1000, 5000]);
});
