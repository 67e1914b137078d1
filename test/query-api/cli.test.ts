// The real `sparklogs` binary (dist/query-api/cli/main.js) against a running
// API: apps, executors, logs, search, errors as one line with a non-zero
// exit, -f receiving lines written after it started (also of an executor
// that starts later) and ending when the app is gone, -f --since joining
// history and follow exactly, `| head` closing early.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { runToEnd, type Finished } from '../helpers/process.js';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { batchesOf, source } from '../helpers/seed.js';
import { SLOW_MS, TEST_RETRY } from '../helpers/wait.js';
import { backoffMs, sleep } from '../../contract/retry.js';
import { build } from '../../query-api/app.js';
import { events, fixture, testConfig, type Fixture } from './fixture.js';

const CLI = fileURLToPath(new URL('../../dist/query-api/cli/main.js', import.meta.url));
let f: Fixture;
let server: string;
before(async () => {
  f = await fixture('cli', { followPollMs: 200, followQuietMs: 1000 });
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  server = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await f?.close();
});

/** Runs a command to its end (asynchronously: the API answering it lives in this process). */
function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return runToEnd(cmd, args, { env: { ...process.env, SPARKLOGS_URL: server, ...env }, timeoutMs: SLOW_MS });
}
/**
 * The CLI, run again (bounded, with backoff) when it failed on the store being
 * unavailable: the API answers 503 STORE_UNAVAILABLE, documented as "try
 * again", when Elasticsearch is slow on a busy machine; the CLI's one-shot
 * commands try again for about half a minute, which a very busy machine can outlast.
 */
const cli = async (args: string[], env: Record<string, string> = {}) => {
  const end = Date.now() + SLOW_MS;
  for (let attempt = 0; ; attempt++) {
    const r = await run(process.execPath, [CLI, ...args], env);
    const wait = backoffMs(TEST_RETRY, attempt);
    if (r.code !== 1 || !/Elasticsearch is unavailable|HTTP (503|429)/.test(r.err) || Date.now() + wait > end) return r;
    await sleep(wait);
  }
};

test('apps and executors', async () => {
  const apps = await cli(['apps']);
  assert.equal(apps.code, 0, apps.err);
  assert.match(apps.out, /^APP ID\s+TYPE/);
  assert.ok(apps.out.includes(f.appId));
  const ex = await cli(['executors', f.appId]);
  assert.equal(ex.code, 0, ex.err);
  const rows = ex.out.trim().split('\n');
  assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/)[0]), ['driver', '1', '2']);
  assert.match(rows[2] ?? '', new RegExp(`^1\\s+executor\\s+etl-daily-exec-1\\s+node-a\\s+${f.expected.byExecutor['1']?.length}\\s+${f.expected.warn['1']}\\s+${f.expected.error['1']}`));
});

test('logs of one executor: every line in order, no colors when not a terminal', async () => {
  const r = await cli(['logs', f.appId, '-e', '1']);
  assert.equal(r.code, 0, r.err);
  assert.ok(!r.out.includes('\u001b['), 'no escape codes into a pipe');
  const heads = r.out.split('\n').filter((l) => /^\d{4}-/.test(l));
  assert.deepEqual(heads.map((l) => l.replace(/^.*?Executor: /, '')), f.expected.byExecutor['1']);
});

test('logs --tail, --json, --level, --grep, --since', async () => {
  const tail = await cli(['logs', f.appId, '-e', 'driver', '--tail', '5', '--json']);
  assert.deepEqual(tail.out.trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message), (f.expected.byExecutor.driver ?? []).slice(-5));
  const bigTail = await cli(['logs', f.appId, '--tail', '7000', '--json']);
  assert.equal(bigTail.out.trim().split('\n').length, f.expected.total);
  const errors = await cli(['logs', f.appId, '--level', 'ERROR', '--json']);
  const lv = errors.out.trim().split('\n').map((l) => (JSON.parse(l) as { level: string }).level);
  assert.equal(lv.length, Object.values(f.expected.error).reduce((a, b) => a + b, 0));
  assert.ok(lv.every((l) => l === 'ERROR'));
  const grep = await cli(['logs', f.appId, '--grep', 'task 17 of', '--json']);
  assert.equal(grep.out.trim().split('\n').length, 3);
  assert.equal((await cli(['logs', f.appId, '--since', '1m'])).out, '', 'nothing in the last minute');
  assert.ok((await cli(['logs', f.appId, '--since', '2h'])).out.length > 0);
});

test('search prints app id and highlighted fragments', async () => {
  const r = await cli(['search', 'Connection', 'refused', '--app', f.appId]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, Object.values(f.expected.error).reduce((a, b) => a + b, 0));
  assert.ok(lines.every((l) => l.startsWith(`${f.appId} `) && l.includes('Connection refused')));
});

test('unknown app, unreachable server, bad option: one line on stderr, non-zero exit', async () => {
  const missing = await cli(['logs', 'spark-none']);
  assert.notEqual(missing.code, 0);
  assert.equal(missing.err.trim().split('\n').length, 1);
  assert.match(missing.err, /^sparklogs: appId: no app "spark-none"/);
  const down = await cli(['apps'], { SPARKLOGS_URL: 'http://127.0.0.1:1' });
  assert.notEqual(down.code, 0);
  assert.equal(down.err.trim().split('\n').length, 1);
  assert.match(down.err, /cannot reach the query API at http:\/\/127\.0\.0\.1:1/);
  const bad = await cli(['logs', f.appId, '--level', 'LOUD']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /level/);
});

test('| head ends quietly', async () => {
  const r = await run('bash', ['-o', 'pipefail', '-c', `node ${CLI} logs ${f.appId} | head -n 3`]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.equal(r.out.trim().split('\n').length, 3);
});

test('-f --since: every line since then, then new ones, none twice and none missed; -f --until is refused', async () => {
  // Pages of 100 lines, so the history before the follow takes several.
  const paged = await build({ cfg: testConfig(f.n.prefix, f.esUrl, { maxPageSize: 100, followPollMs: 200 }) });
  await paged.listen({ host: '127.0.0.1', port: 0 });
  const since = f.t0 + 10_000;
  const child = spawn(process.execPath, [CLI, 'logs', f.appId, '-f', '--since', new Date(since).toISOString(), '--json'], {
    env: { ...process.env, SPARKLOGS_URL: `http://127.0.0.1:${(paged.server.address() as AddressInfo).port}` }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const printed = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { time: number; executorId: string; message: string });
  const waitFor = async (pred: () => boolean, ms: number, what: string) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ${printed().length} lines printed; err: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    // What was stored since then: events i with t0 + i*200 >= since, of every executor.
    const stored = Object.entries(f.expected.byExecutor).flatMap(([e, msgs]) => msgs.map((m, i) => ({ e, m, t: f.t0 + i * 200 }))).filter((x) => x.t >= since);
    assert.ok(stored.length > 300, 'several pages of history');
    await waitFor(() => printed().length >= stored.length, SLOW_MS, 'the history since --since');
    const history = printed();
    assert.equal(history.length, stored.length, 'no more than the lines since --since');
    assert.deepEqual(new Set(history.map((l) => l.message.split('\n')[0]!.replace(/^.*?Executor: /, ''))), new Set(stored.map((x) => x.m)));
    assert.ok(history.every((l, i) => l.time >= since && (i === 0 || l.time >= history[i - 1]!.time)), 'by time, from --since on');

    // Written after the follow started: printed once each, after the history.
    const more = events('2', 5, f.t0, 260);
    await f.seeder.send(batchesOf(source(f.appId, '2'), more.lines));
    await waitFor(() => printed().length >= stored.length + 5, SLOW_MS, 'the new lines');
    await new Promise((r) => setTimeout(r, 1000));
    const all = printed();
    assert.equal(all.length, stored.length + 5, 'nothing printed twice');
    assert.deepEqual(all.slice(-5).map((l) => l.message.replace(/^.*?Executor: /, '')), more.messages);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await paged.close();
  }

  const until = await cli(['logs', f.appId, '-f', '--until', '1h']);
  assert.equal(until.code, 2);
  assert.match(until.err, /^sparklogs: --until cannot be combined with -f/);
});

test('-f prints lines written after it started, of a late executor too, and exits when the app is gone', async () => {
  const child = spawn(process.execPath, [CLI, 'logs', f.appId, '-f', '--tail', '2'], { env: { ...process.env, SPARKLOGS_URL: server }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const waitFor = async (pred: () => boolean, ms: number, what: string) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; out:\n${out.slice(-2000)}\nerr:${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await waitFor(() => out.split('\n').length > 2, SLOW_MS, 'the tail');
    const more = events('1', 5, f.t0, 260);
    const late = events('7', 5, f.t0 + 60_000);
    await f.seeder.send([...batchesOf(source(f.appId, '1'), more.lines), ...batchesOf(source(f.appId, '7'), late.lines)]);
    await waitFor(() => [...more.messages, ...late.messages].every((m) => out.includes(m)), SLOW_MS, 'the new lines');
    assert.match(out, /\[7\] Executor: task 0 of executor 7/);
    for (const e of ['driver', '1', '2', '7']) await f.seeder.lifecycle(source(f.appId, e), { exitCode: 0, reason: 'Completed', finishedAt: Date.now() });
    // Minutes at most on a busy machine; without the pods' ends it would run for followIdleEndMs (an hour).
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exit, new Promise<string>((r) => (timer = setTimeout(() => r('still running'), 120_000)))]);
    clearTimeout(timer);
    assert.equal(code, 0, err);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
