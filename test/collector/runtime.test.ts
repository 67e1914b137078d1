// The collector relaunches itself once with its runtime settings
// (collector/runtime.ts): the plan (what it adds, that an operator's settings
// come after and win, that it happens once), and that the real binary, started
// as the image starts it, runs with them in the same process (same pid).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MALLOC_TUNABLES, NODE_FLAGS, RELAUNCH, RELAUNCHED, relaunchPlan } from '../../collector/runtime.js';
import { collectorEnv, startCollector, stopCollector, killCollector, tempDir, withTimeout } from './harness.js';

test('the plan: settings first, the operator\'s after them, the script and its arguments unchanged', () => {
  const plan = relaunchPlan('/usr/local/bin/node', ['--max-old-space-size=64'], ['/usr/local/bin/node', '/app/dist/collector/main.js', '--mode', 'node'], {
    PATH: '/bin',
    GLIBC_TUNABLES: 'glibc.malloc.arena_max=4',
  });
  assert.ok(plan);
  assert.deepEqual(plan.argv, ['/usr/local/bin/node', ...NODE_FLAGS, '--max-old-space-size=64', '/app/dist/collector/main.js', '--mode', 'node']);
  assert.equal(plan.env.GLIBC_TUNABLES, [...MALLOC_TUNABLES, 'glibc.malloc.arena_max=4'].join(':'));
  assert.equal(plan.env.PATH, '/bin');
  assert.equal(plan.env[RELAUNCHED], '1');
  assert.equal(plan.env.GLIBC_TUNABLES.split(':')[0], 'glibc.malloc.arena_max=1');
});

test('the plan: once only, off on request, a bad switch is an error naming it', () => {
  const argv = ['/n', '/m.js'];
  assert.equal(relaunchPlan('/n', [], argv, { [RELAUNCHED]: '1' }), undefined, 'a relaunched process does not relaunch again');
  assert.equal(relaunchPlan('/n', [], argv, { [RELAUNCH]: '0' }), undefined);
  assert.ok(relaunchPlan('/n', [], argv, { [RELAUNCH]: '1' }));
  assert.equal(relaunchPlan('/n', [], argv, {})!.env.GLIBC_TUNABLES, MALLOC_TUNABLES.join(':'));
  assert.throws(() => relaunchPlan('/n', [], argv, { [RELAUNCH]: 'no' }), /SPARKLOGS_COLLECTOR_RELAUNCH: expected 0 or 1, got "no"/);
});

async function environOf(pid: number): Promise<Map<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  return new Map(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

test('the binary runs with the settings, in the process that was started', async () => {
  const { dir, cleanup } = await tempDir('runtime');
  const file = join(dir, 'executor.log');
  await writeFile(file, '');
  const c = startCollector(collectorEnv(`rt${Date.now()}`, join(dir, 'state'), file));
  try {
    // It started in the relaunched process: the same pid now has the settings in its environment.
    await c.waitLog('collectorStarted');
    const env = await environOf(c.proc.pid!);
    assert.equal(env.get(RELAUNCHED), '1');
    assert.equal(env.get('GLIBC_TUNABLES'), MALLOC_TUNABLES.join(':'));
    const cmdline = (await readFile(`/proc/${c.proc.pid!}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    assert.deepEqual(cmdline.slice(1, 1 + NODE_FLAGS.length), NODE_FLAGS);
    assert.equal(await stopCollector(c), 0);
  } finally {
    await killCollector(c);
    await cleanup();
  }
});

test('a bad SPARKLOGS_COLLECTOR_RELAUNCH stops the binary with exit code 2, naming it', async () => {
  const { dir, cleanup } = await tempDir('runtime-off');
  const c = startCollector({ PATH: process.env.PATH ?? '', SPARKLOGS_PATHS: join(dir, '*.log'), SPARKLOGS_STATE_DIR: dir, [RELAUNCH]: 'x' }, ['--help']);
  try {
    assert.equal(await withTimeout(c.exited, 15_000, 'collector exit'), 2);
    assert.match(c.stderr, /SPARKLOGS_COLLECTOR_RELAUNCH: expected 0 or 1, got "x"/);
  } finally {
    await killCollector(c);
    await cleanup();
  }
});
