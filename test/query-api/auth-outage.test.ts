// Q5: Elasticsearch unavailable -> 503 with a clear message, and the API
// recovers by itself when it is back (a TCP relay in front of the real node
// is closed and reopened). Q6: tokens on -> 401 without, 403 wrong, nothing
// of the token in answers or in the service's own log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { build } from '../../query-api/app.js';
import { fixture, testConfig, type Fixture } from './fixture.js';
import { relay as tcpRelay } from '../helpers/relay.js';

/** A relay to the real Elasticsearch node that can be cut and restored on the same port. */
function relay(target: URL) {
  const r = tcpRelay({ host: target.hostname, port: Number(target.port) });
  return {
    open: () => r.open(),
    close: () => r.close(),
    get url() {
      return `http://127.0.0.1:${r.port}`;
    },
  };
}

let f: Fixture;
before(async () => {
  f = await fixture('auth', {}, { driver: 20 });
});
after(async () => {
  await f?.close();
});

test('Q5: store unreachable -> 503 naming Elasticsearch; recovers by itself', async () => {
  const r = relay(new URL(f.esUrl));
  await r.open();
  const app = await build({ cfg: testConfig(f.n.prefix, r.url, { esTimeoutMs: 2000 }) });
  try {
    const url = `/api/v1/apps/${f.appId}/executors/driver/logs?tail=5`;
    assert.equal((await app.inject(url)).statusCode, 200);
    await r.close();
    for (const u of [url, `/api/v1/apps/${f.appId}`, '/api/v1/apps', '/api/v1/search?q=task', `/api/v1/apps/${f.appId}/download`]) {
      const res = await app.inject(u);
      assert.equal(res.statusCode, 503, u);
      const e = (res.json() as { error: { code: string; message: string; retriable: boolean } }).error;
      assert.equal(e.code, 'STORE_UNAVAILABLE');
      assert.match(e.message, /^Elasticsearch is unavailable/);
      assert.equal(e.retriable, true);
      assert.equal(res.headers['retry-after'], '5', u);
    }
    assert.equal((await app.inject('/readyz')).statusCode, 503);
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    await r.open();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await app.inject(url)).statusCode;
      if (status !== 200) await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(status, 200, 'recovered without a restart');
    assert.equal((await app.inject('/readyz')).statusCode, 200);
  } finally {
    await app.close();
    await r.close();
  }
});

test('Q5: the CLI waits out a short outage: a one-shot command tries again (bounded) and then prints the lines', { timeout: 300_000 }, async () => {
  const r = relay(new URL(f.esUrl));
  await r.open();
  const app = await build({ cfg: testConfig(f.n.prefix, r.url, { esTimeoutMs: 2000 }) });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const server = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
    await r.close();
    const cli = spawn(process.execPath, [fileURLToPath(new URL('../../dist/query-api/cli/main.js', import.meta.url)), 'logs', f.appId, '-e', 'driver', '--tail', '5'], {
      env: { ...process.env, SPARKLOGS_URL: server },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    cli.stdout.on('data', (b: Buffer) => (out += b.toString()));
    cli.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((res) => cli.once('close', (code) => res(code)));
    // The store comes back once the CLI has been told "unavailable" at least once.
    const told = Date.now() + 120_000;
    while (!/trying again/.test(err) && Date.now() < told && cli.exitCode === null) await new Promise((res) => setTimeout(res, 100));
    // The API's Retry-After (5 s) sets the CLI's pace.
    assert.match(err, /^sparklogs: Elasticsearch is unavailable.*; trying again in 5\.0 s \(2 of 6\)$/m);
    await r.open();
    assert.equal(await exited, 0, err);
    assert.equal(out.trim().split('\n').length, 5, out);
  } finally {
    await app.close();
    await r.close();
  }
});

test('Q5: the CLI gives up on an outage that lasts: one line, exit 1, after its bounded tries', { timeout: 300_000 }, async () => {
  const app = await build({ cfg: testConfig(f.n.prefix, 'http://127.0.0.1:1', { esTimeoutMs: 500 }) });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const server = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
    const cli = spawn(process.execPath, [fileURLToPath(new URL('../../dist/query-api/cli/main.js', import.meta.url)), 'apps'], { env: { ...process.env, SPARKLOGS_URL: server }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    cli.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((res) => cli.once('close', (c) => res(c)));
    assert.equal(code, 1);
    assert.equal((err.match(/trying again/g) ?? []).length, 5, err);
    assert.match(err.trim().split('\n').at(-1)!, /^sparklogs: Elasticsearch is unavailable/);
  } finally {
    await app.close();
  }
});

test('Q5: a store that was never there -> 503, not 500', async () => {
  const app = await build({ cfg: testConfig(f.n.prefix, 'http://127.0.0.1:1', { esTimeoutMs: 1000 }) });
  const res = await app.inject(`/api/v1/apps/${f.appId}/logs`);
  assert.equal(res.statusCode, 503);
  await app.close();
});

test('Q6: missing token 401, wrong 403, right 200; health open; nothing leaked', async () => {
  const token = 'correct-token-0123456789abcdef';
  const wrong = 'wrong-token-SECRETSECRET-987654';
  let logged = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logged += String(chunk);
      cb();
    },
  });
  const log = pino({ level: 'trace' }, sink);
  const app = await build({ cfg: testConfig(f.n.prefix, f.esUrl, { apiTokens: [token] }), log });
  try {
    const routes = [`/api/v1/apps/${f.appId}/logs`, '/api/v1/apps', '/api/v1/search?q=x', `/api/v1/apps/${f.appId}/follow`, `/api/v1/apps/${f.appId}/download`, '/metrics', '/docs/json'];
    for (const url of routes) {
      const none = await app.inject(url);
      assert.equal(none.statusCode, 401, url);
      assert.equal((none.json() as { error: { code: string } }).error.code, 'UNAUTHORIZED');
      for (const h of [`Bearer ${wrong}`, wrong, `Basic ${Buffer.from(`u:${wrong}`).toString('base64')}`, `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`]) {
        const bad = await app.inject({ url, headers: { authorization: h } });
        assert.ok(bad.statusCode === 401 || bad.statusCode === 403, `${url} ${h}: ${bad.statusCode}`);
        assert.ok(!bad.body.includes('SECRET') && !bad.body.includes(token.slice(0, 10)), 'no token in the answer');
      }
      assert.equal((await app.inject({ url, headers: { authorization: `Bearer ${wrong}` } })).statusCode, 403);
    }
    const ok = await app.inject({ url: `/api/v1/apps/${f.appId}/logs`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.statusCode, 200);
    for (const open of ['/healthz', '/readyz', '/', '/static/app.js']) assert.equal((await app.inject(open)).statusCode, 200, open);
    // An error that reaches the log (here a 503) must not carry the token either.
    const down = await build({ cfg: testConfig(f.n.prefix, 'http://127.0.0.1:1', { apiTokens: [token], esTimeoutMs: 500 }), log });
    assert.equal((await down.inject({ url: '/api/v1/apps', headers: { authorization: `Bearer ${token}` } })).statusCode, 503);
    await down.close();
    assert.ok(logged.length > 0, 'the log was written');
    assert.ok(!logged.includes(token) && !logged.includes('SECRETSECRET'), 'no token in the log');
  } finally {
    await app.close();
  }
});
