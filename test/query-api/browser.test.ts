// The web page in Debian's chromium (driven by playwright-core): recent apps,
// search, open an app, read an executor's logs (levels colored, stack traces
// folded), link to a line, toggle follow and see a line written afterwards.
// Saves test-artifacts/query-api-web.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { batchesOf, source } from '../helpers/seed.js';
import { events, fixture, type Fixture } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
let f: Fixture;
let base: string;
let browser: Browser;

before(async () => {
  if (!existsSync(CHROMIUM)) {
    if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) as root`);
    execSync('apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium', { stdio: 'inherit', timeout: 600_000 });
  }
  f = await fixture('web', { followPollMs: 200 });
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
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
