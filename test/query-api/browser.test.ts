// The web page in Debian's chromium (driven by playwright-core): recent apps,
// search, open an app, read an executor's logs (levels colored, stack traces
// folded), link to a line, toggle follow and see a line written afterwards;
// with API tokens on, the page asks for the token once and its Download links
// still work, without the token in any URL or in the server's log.
// Saves test-artifacts/query-api-web.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { build } from '../../query-api/app.js';
import type { Logger } from '../../contract/log.js';
import { batchesOf, source, sparkLine } from '../helpers/seed.js';
import { launchChromium } from './chromium.js';
import { events, fixture, testConfig, type Fixture } from './fixture.js';

let f: Fixture;
let base: string;
let browser: Browser;

before(async () => {
  f = await fixture('web', { followPollMs: 200 });
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await f?.close();
});

test('search, open an app, read an executor, link a line, follow', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/`);
  await page.locator(`#apps a.app-link:text("${f.appId}")`).waitFor({ timeout: 10_000 });

  await page.fill('#search', 'Connection refused');
  await page.press('#search', 'Enter');
  await page.locator('#hits .hit').first().waitFor({ timeout: 10_000 });
  const errorsTotal = Object.values(f.expected.error).reduce((a, b) => a + b, 0);
  assert.equal(await page.locator('#hits .hit').count(), errorsTotal);
  assert.equal(await page.locator('#hits .hit mark').first().textContent(), 'Connection');

  await page.locator(`#hits .hit .meta a:text("${f.appId}")`).first().click();
  await page.locator('#executors tbody tr').nth(2).waitFor({ timeout: 10_000 });
  assert.deepEqual(await page.locator('#executors tbody tr td:first-child').allTextContents(), ['driver', '1', '2']);

  await page.locator('#executors a.exec-link:text-is("1")').click();
  await page.locator('#viewer .line').first().waitFor({ timeout: 10_000 });
  const n1 = f.expected.byExecutor['1'] ?? [];
  assert.equal(await page.locator('#viewer .line').count(), n1.length);
  assert.match((await page.locator('#viewer .line .m').first().textContent()) ?? '', /task 0 of executor 1/);
  assert.equal(await page.locator('#viewer .line.lvl-ERROR details').count(), f.expected.error['1']);
  const errorLine = page.locator('#viewer .line.lvl-ERROR').first();
  assert.equal(await errorLine.locator('details pre').isVisible(), false, 'stack trace folded');
  const color = await errorLine.locator('.l').evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { color: string } }).getComputedStyle(e).color);
  assert.equal(color, 'rgb(207, 34, 46)', 'ERROR in red');
  await errorLine.locator('summary').click();
  assert.equal(await errorLine.locator('details pre').isVisible(), true, 'stack trace unfolds');

  // Link to a line: open it from its own anchor, it is highlighted.
  const warnLine = page.locator('#viewer .line.lvl-WARN').nth(3);
  const warnText = await warnLine.locator('.m').textContent();
  await warnLine.locator('a.ln').click();
  await page.locator('#viewer .line.target').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#viewer .line.target .m').textContent(), warnText);

  await page.click('#follow');
  await page.locator('#follow[aria-pressed="true"]').waitFor({ timeout: 10_000 });
  const more = events('1', 3, f.t0, n1.length);
  await f.seeder.send(batchesOf(source(f.appId, '1'), more.lines));
  await page.locator(`#viewer .line .m:text("${more.messages[2]}")`).waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('#viewer .line').count(), n1.length + 3);

  mkdirSync('test-artifacts', { recursive: true });
  await page.screenshot({ path: 'test-artifacts/query-api-web.png' });
  await page.click('#follow');
  assert.equal(await page.getAttribute('#follow', 'aria-pressed'), 'false');
  assert.deepEqual(errors, []);
});

test('with API tokens on: the page asks for the token once, and Download saves the logs without the token in a URL or a log', async () => {
  const token = 'web-download-token-0123456789abcdef';
  let logged = '';
  const log = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { logged += String(chunk); cb(); } })) as unknown as Logger;
  const secured = await build({ cfg: testConfig(f.n.prefix, f.esUrl, { apiTokens: [token] }), log });
  await secured.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(secured.server.address() as AddressInfo).port}`;
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const prompts: string[] = [];
    page.on('dialog', (d) => {
      prompts.push(d.message());
      void d.accept(token);
    });
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));

    await page.goto(`${url}/#/apps/${f.appId}`);
    await page.locator('#executors tbody tr').nth(2).waitFor({ timeout: 10_000 });
    assert.deepEqual(prompts, ['This server needs an API token:']);

    // The whole app: every stored line, in one file named for the app.
    const [appFile] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.click('a.download')]);
    assert.equal(appFile.suggestedFilename(), `${f.appId}.log`);
    const appText = readFileSync((await appFile.path())!, 'utf8');
    for (const msgs of Object.values(f.expected.byExecutor)) for (const m of msgs) assert.ok(appText.includes(m), `app download lacks ${m}`);

    // One executor, from the log viewer's toolbar.
    await page.locator('#executors a.exec-link:text-is("2")').click();
    await page.locator('#viewer .line').first().waitFor({ timeout: 10_000 });
    const [execFile] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.click('.toolbar a.download')]);
    const execText = readFileSync((await execFile.path())!, 'utf8');
    const mine = f.expected.byExecutor['2'] ?? [];
    assert.ok(mine.length > 0 && mine.every((m) => execText.includes(m)), 'executor download holds every line of executor 2');
    assert.ok(!execText.includes((f.expected.byExecutor['1'] ?? [])[0]!), 'and no line of executor 1');

    assert.deepEqual(prompts.length, 1, 'asked once, then the stored token is used');
    assert.ok(urls.some((u) => u.includes('/download')), 'the downloads went to the API');
    assert.deepEqual(urls.filter((u) => u.includes(token)), [], 'no URL carries the token');
    assert.ok(logged.includes('/download'), 'the server logged the download requests');
    assert.equal(logged.includes(token), false, 'the server log never holds the token');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await secured.close();
  }
});

test('captures: an executor\'s stdout and stderr lines are marked, come after its log file, and a stream choice shows one of them (also when following)', async () => {
  // Executor 5: its log file, and whole-stream captures of its container's stderr and stdout.
  const appId = f.appId;
  const srcs = {
    log: source(appId, '5', { stream: undefined, file: '/opt/spark/logs/executor.log', fileId: 'log-5', fileSeq: 0 }),
    stderr: source(appId, '5', { stream: 'stderr', file: '/opt/spark/logs/stderr', fileId: 'err-5', fileSeq: 1 }),
    stdout: source(appId, '5', { stream: 'stdout', file: '/opt/spark/logs/stdout', fileId: 'out-5', fileSeq: 2 }),
  };
  const texts = (kind: string, from: number, count: number) => Array.from({ length: count }, (_, i) => `${kind} line ${from + i} of executor 5`);
  const rec = (kind: keyof typeof srcs, from: number, count: number) => ({
    v: 1 as const, src: srcs[kind], n: from,
    lines: texts(kind, from, count).map((m, i) => ({ off: (from + i) * 100, t: f.t0 + (from + i) * 1000 + (kind === 'log' ? 0 : kind === 'stderr' ? 300 : 600), m: kind === 'log' ? sparkLine(f.t0 + (from + i) * 1000, 'INFO', 'Executor', m) : m })),
  });
  const stored = f.expected.total + 4 + 5 + 6;
  await f.seeder.send([rec('stdout', 0, 6), rec('log', 0, 4), rec('stderr', 0, 5)]);
  await f.seeder.waitForLines(stored);

  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#/apps/${appId}/logs?executor=5`);
  await page.locator('#viewer .line').nth(14).waitFor({ timeout: 20_000 });
  const messages = async () => (await page.locator('#viewer .line .m').allTextContents()).map((m) => m.replace(/^(stdout|stderr)/, '').replace(/^Executor: /, ''));
  assert.deepEqual(await messages(), [...texts('log', 0, 4), ...texts('stderr', 0, 5), ...texts('stdout', 0, 6)], 'the log file, then stderr, then stdout');
  assert.equal(await page.locator('#viewer .line.captured').count(), 11);
  assert.deepEqual(await page.locator('#viewer .line[data-log="stdout"] .cap').allTextContents(), Array(6).fill('stdout'), 'stdout lines carry a badge');
  assert.equal(await page.locator('#viewer .line:not(.captured) .cap').count(), 0, 'log file lines have none');
  const badge = await page.locator('#viewer .line[data-log="stdout"] .cap').first().evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor);
  assert.notEqual(badge, 'rgba(0, 0, 0, 0)', 'the badge is visible');

  // Only stdout: the choice is kept in the URL, the download link follows it.
  await page.selectOption('#stream', 'stdout');
  await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('#viewer .line').length === 6, undefined, { timeout: 20_000 });
  assert.deepEqual(await messages(), texts('stdout', 0, 6));
  assert.match(page.url(), /stream=stdout/);
  assert.match((await page.getAttribute('.toolbar a.download', 'href')) ?? '', /\/executors\/5\/download\?stream=stdout$/);

  // Follow with the choice on: a new stdout line comes, a new log line does not.
  await page.click('#follow');
  await page.locator('#follow[aria-pressed="true"]').waitFor({ timeout: 10_000 });
  await f.seeder.send([rec('log', 4, 1), rec('stdout', 6, 1)]);
  await f.seeder.waitForLines(stored + 2);
  await page.locator(`#viewer .line .m:text("${texts('stdout', 6, 1)[0]}")`).waitFor({ timeout: 20_000 });
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await messages(), texts('stdout', 0, 7), 'the follow sends the stdout line only');
  mkdirSync('test-artifacts', { recursive: true });
  await page.screenshot({ path: 'test-artifacts/query-api-web-captures.png' });
  await page.click('#follow');

  // All executors: each capture line is marked too.
  await page.goto(`${base}/#/apps/${appId}/logs?stream=stderr&from=${f.t0}`);
  await page.locator('#viewer .line').first().waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('#stream').inputValue(), 'stderr');
  const logs = await page.locator('#viewer .line').evaluateAll((ls) => ls.map((l) => (l as unknown as { dataset: { log?: string; stream?: string } }).dataset));
  assert.ok(logs.length > 0 && logs.every((d) => d.stream === 'stderr'), 'stderr lines only');
  assert.ok(logs.some((d) => d.log === 'stderr'), 'marked as a capture');
  assert.deepEqual(errors, []);
  await page.close();
});
