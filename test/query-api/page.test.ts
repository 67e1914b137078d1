// The page at a glance, in Debian's chromium: the app page's executor timeline,
// log-volume histogram (a dragged range narrows the lines below; counts up to
// billions written out whole on its axis) and grouped exceptions; the apps
// list with status, filters in the URL, sorting, paging; the log viewer's time
// range, level and words filters, first error, permalinks and context around a
// search hit; with API tokens on; by keyboard.
// On the fixture's app and on a generated app of 200 executors. Screenshots of
// each view go to test-artifacts/page/ (the path is printed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from '../../query-api/app.js';
import { launchChromium, screenshotDir } from './chromium.js';
import { fixture, testConfig, type Fixture } from './fixture.js';
import { seedBigApp, type BigApp } from './big-app.js';
import { batchesOf, source, sparkLine } from '../helpers/seed.js';
import type { Batch } from '../../contract/index.js';

const WAIT = { timeout: 120_000 };
let f: Fixture;
let big: BigApp;
let base: string;
let browser: Browser;
let shots: string;

before(async () => {
  f = await fixture('page');
  big = await seedBigApp(f);
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  shots = screenshotDir();
  console.log(`# screenshots: ${shots}`);
});
after(async () => {
  await browser?.close();
  await f?.close();
});

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function open(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors };
}
const count = async (page: Page, selector: string) => page.locator(selector).count();
const attr = async (page: Page, selector: string, name: string) => Number(await page.locator(selector).first().getAttribute(name));

/** Lines of the fixture's app with a time in [from, to]: Spark's layout keeps whole seconds of t0 + i·200 ms. */
function fixtureLinesIn(from: number, to: number): number {
  let n = 0;
  for (const msgs of Object.values(f.expected.byExecutor)) {
    for (let i = 0; i < msgs.length; i++) {
      const t = Math.floor((f.t0 + i * 200) / 1000) * 1000;
      if (t >= from && t <= to) n++;
    }
  }
  return n;
}

test('app page: a bar per executor, the log volume by level, a dragged range narrows the lines below, exceptions open their first event', async () => {
  const { page, errors } = await open(`${base}/#/apps/${f.appId}`);
  await page.locator('#timeline a.bar').nth(2).waitFor(WAIT);
  assert.equal(await count(page, '#timeline a.bar'), 3);
  await page.locator('#histogram canvas').first().waitFor(WAIT);
  assert.equal(await attr(page, '#histogram', 'data-total'), f.expected.total);
  const errorsTotal = sum(Object.values(f.expected.error));
  const warnTotal = sum(Object.values(f.expected.warn));
  assert.equal(await attr(page, '#histogram .lg[data-level="ERROR"]', 'data-count'), errorsTotal);
  assert.equal(await attr(page, '#histogram .lg[data-level="WARN"]', 'data-count'), warnTotal);
  assert.equal(await attr(page, '#histogram .lg[data-level="INFO"]', 'data-count'), f.expected.total - errorsTotal - warnTotal);

  assert.deepEqual(await page.locator('#exceptions tbody tr td:first-child').allTextContents(), ['java.lang.IllegalStateException']);
  assert.equal(await page.locator('#exceptions tbody tr td:nth-child(2)').textContent(), String(errorsTotal));
  await page.screenshot({ path: join(shots, 'app-fixture.png'), fullPage: true });

  // Drag over the middle of the chart: the lines of that range appear below, as many as stored in it.
  const box = (await page.locator('#histogram .u-over').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height / 2, { steps: 8 });
  await page.mouse.up();
  await page.locator('#range-summary').waitFor(WAIT);
  const from = await attr(page, '#range-summary', 'data-from');
  const to = await attr(page, '#range-summary', 'data-to');
  const inRange = fixtureLinesIn(from, to);
  assert.ok(inRange > 0 && inRange < f.expected.total, `a part of the app: ${inRange}`);
  assert.equal(await attr(page, '#range-summary', 'data-count'), inRange);
  assert.equal(await count(page, '#range-lines .line'), Math.min(inRange, 200));
  const times = (await page.locator('#range-lines .line').evaluateAll((ls) => ls.map((l) => Number((l as unknown as { dataset: { time: string } }).dataset.time))));
  assert.ok(times.every((t) => t >= from && t <= to), 'every line below is inside the range');
  await page.screenshot({ path: join(shots, 'app-range.png'), fullPage: true });

  // The exception's first event, in the interleaved log with what came before it.
  await page.click('#exceptions a.first-event');
  await page.locator('#viewer .line.target').waitFor(WAIT);
  assert.match((await page.locator('#viewer .line.target .m summary').textContent()) ?? '', /task 49 of executor/);
  assert.equal(await page.locator('#viewer .line.target .l').textContent(), 'ERROR');

  // A bar opens its executor's lines.
  await page.goBack();
  await page.locator('#timeline a.bar[data-executor="1"]').click();
  await page.locator('#viewer .line').first().waitFor(WAIT);
  assert.match(page.url(), /logs\?executor=1$/);
  assert.equal(await count(page, '#viewer .line'), f.expected.byExecutor['1']!.length);
  assert.deepEqual(errors, []);
  await page.close();
});

test('app page of 200 executors: churn, OOMKilled and failed marked, histogram = stored lines; the timeline by keyboard', async () => {
  const { page, errors } = await open(`${base}/#/apps/${big.appId}`);
  await page.locator('#timeline a.bar').nth(big.executors).waitFor(WAIT);
  assert.equal(await count(page, '#timeline a.bar'), big.executors + 1);
  assert.equal(await count(page, '#timeline a.bar.oom'), big.oomKilled.length);
  assert.equal(await count(page, '#timeline a.bar[data-status="failed"]'), big.oomKilled.length + big.failed.length);
  assert.equal(await count(page, '#timeline a.bar[data-status="removed"]'), big.executors - big.oomKilled.length - big.failed.length);
  assert.equal(await page.locator('#timeline a.bar[data-executor="driver"]').getAttribute('data-status'), 'running');
  assert.equal(await page.locator('#app-status').textContent(), 'running');
  assert.equal(await attr(page, '#timeline .lg[data-status="oom"]', 'data-count'), big.oomKilled.length);
  // Staggered starts: later executors' bars start further right.
  const lefts = await page.locator('#timeline a.bar').evaluateAll((bs) => bs.map((b) => parseFloat((b as unknown as { style: { left: string } }).style.left)));
  assert.ok(lefts[big.executors]! > 90 && lefts[1]! < 2, `churn across the app's life: ${lefts[1]} … ${lefts[big.executors]}`);

  await page.locator('#histogram canvas').first().waitFor(WAIT);
  assert.equal(await attr(page, '#histogram', 'data-total'), big.lines);
  for (const [level, n] of Object.entries(big.byLevel)) assert.equal(await attr(page, `#histogram .lg[data-level="${level}"]`, 'data-count'), n, level);
  assert.equal(await count(page, '#exceptions tbody tr'), 2);
  await page.screenshot({ path: join(shots, 'app-200-executors.png') });

  // Keyboard: focus the first bar, arrow down twice, Enter opens executor 2.
  await page.locator('#timeline a.bar').first().focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string } } }).document.activeElement.getAttribute('data-executor')), '2');
  await page.keyboard.press('Enter');
  await page.locator('#viewer .line').first().waitFor(WAIT);
  assert.match(page.url(), /executor=2$/);
  assert.equal(await count(page, '#viewer .line'), big.perExecutor['2']);
  assert.deepEqual(errors, []);
  await page.close();
});

/** The histogram's count axis as drawn: each label, the count it stands for, and where its text starts (CSS px from the canvas's left edge). */
async function countAxis(page: Page, selector = '#histogram') {
  type Axis = { _values: string[]; _splits: number[]; _pos: number; gap: number; ticks: { size: number }; font: string[] };
  type Canvas = { getContext(k: '2d'): { font: string; measureText(t: string): { width: number } } };
  return page.locator(selector).evaluate((fig) => {
    const g = globalThis as unknown as { uPlot: { pxRatio: number }; navigator: { language: string }; document: { createElement(t: 'canvas'): Canvas } };
    const axis = (fig as unknown as { plot: { axes: Axis[] } }).plot.axes[1]!;
    const ctx = g.document.createElement('canvas').getContext('2d');
    ctx.font = axis.font[0]!;
    const whole = new Intl.NumberFormat(g.navigator.language);
    // A left axis right-aligns its labels at its position minus the tick and the gap.
    return axis._values.map((label, i) => ({
      label,
      whole: whole.format(axis._splits[i]!),
      count: axis._splits[i]!,
      left: axis._pos - axis.ticks.size - axis.gap - ctx.measureText(label).width / g.uPlot.pxRatio,
    }));
  });
}

function assertWholeAndInside(labels: Awaited<ReturnType<typeof countAxis>>, peak: number) {
  assert.ok(labels.length >= 2 && Math.max(...labels.map((l) => l.count)) >= peak / 2, `labels up to the peak ${peak}: ${JSON.stringify(labels)}`);
  for (const l of labels) {
    assert.equal(l.label, l.whole, 'the whole number');
    assert.ok(l.left >= 0, `"${l.label}" starts ${l.left.toFixed(1)} px left of the canvas: cut`);
  }
}

test('histogram count axis: a burst of 20,000 lines a second and counts up to billions are labelled whole, none cut at the left edge', async () => {
  // Its own prefix: the apps list test counts the shared one's apps.
  const burst = await fixture('page-axis', {}, {});
  try {
    // 1,000 lines, 20,000 in the next second, 1,000 in the one after: the "20,000" drawn as "0,000".
    const perSecond = [1_000, 20_000, 1_000];
    const lines: Batch['lines'] = [];
    let off = 0;
    for (const [s, n] of perSecond.entries()) {
      for (let i = 0; i < n; i++) {
        const t = burst.t0 + s * 1000;
        const m = sparkLine(t, i % 10 === 9 ? 'WARN' : 'INFO', 'Executor', `shuffle block ${off} fetched`);
        lines.push({ off, t: t + 20, m });
        off += Buffer.byteLength(m) + 1;
      }
    }
    await burst.seeder.send(batchesOf(source(burst.appId, 'driver'), lines, 2000));
    await burst.seeder.waitForLines(lines.length);
    await burst.app.listen({ host: '127.0.0.1', port: 0 });
    const { page, errors } = await open(`http://127.0.0.1:${(burst.app.server.address() as AddressInfo).port}/#/apps/${burst.appId}`);
    await page.locator('#histogram canvas').first().waitFor(WAIT);
    assert.equal(await attr(page, '#histogram', 'data-total'), lines.length);
    await page.locator('#histogram').screenshot({ path: join(shots, 'histogram-burst.png') });
    assertWholeAndInside(await countAxis(page), 20_000);

    // Counts no test can store: the same chart module on made-up buckets, in the same page.
    for (const peak of [450_000, 37_000_000, 2_600_000_000]) {
      await page.evaluate(async (peak) => {
        const g = globalThis as unknown as { document: { body: { append(n: unknown): void }; getElementById(id: string): { remove(): void; id: string } | null } };
        const { histogramChart } = (await import('/static/charts.js' as string)) as { histogramChart(h: unknown, o: { width: number }): { id: string } };
        g.document.getElementById('made-up')?.remove();
        const t0 = Date.UTC(2025, 0, 1);
        const buckets = [peak / 4, peak, peak / 2].map((n, i) => ({ t: t0 + i * 60_000, total: n, levels: { INFO: n } }));
        const chart = histogramChart({ total: peak * 1.75, interval: 60_000, from: t0, to: t0 + 120_000, levels: ['INFO'], buckets }, { width: 800 });
        chart.id = 'made-up';
        g.document.body.append(chart);
      }, peak);
      assertWholeAndInside(await countAxis(page, '#made-up'), peak);
    }
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await burst.close();
  }
});

test('apps list: status, filters in the URL, sorting, paging', async () => {
  const { page, errors } = await open(`${base}/#/`);
  await page.locator('#apps tbody tr').nth(1).waitFor(WAIT);
  assert.equal(await count(page, '#apps tbody tr'), 2);
  assert.equal(await page.locator(`#apps tr[data-app="${big.appId}"] .badge.st-running`).textContent(), 'running');
  assert.equal(await page.locator(`#apps tr[data-app="${f.appId}"]`).getAttribute('data-status'), 'unknown');
  assert.equal(await page.locator(`#apps tr[data-app="${big.appId}"] .badge.oom`).textContent(), `${big.oomKilled.length} OOM`);
  await page.screenshot({ path: join(shots, 'apps.png'), fullPage: true });

  // Sort by errors: the generated app has more; again: the other way round.
  await page.click('button[data-sort="errors"]');
  await page.waitForURL(/sort=errors&order=desc/, WAIT);
  await page.locator(`#apps tbody tr:first-child[data-app="${big.appId}"]`).waitFor(WAIT);
  await page.click('button[data-sort="errors"]');
  await page.waitForURL(/sort=errors&order=asc/, WAIT);
  await page.locator(`#apps tbody tr:first-child[data-app="${f.appId}"]`).waitFor(WAIT);

  // A filter from the form lands in the URL; the URL alone gives the same view.
  await page.selectOption('#app-filters select[name="status"]', 'running');
  await page.click('#app-filters button[type="submit"]');
  await page.waitForURL(/status=running/, WAIT);
  await page.locator('#apps tbody tr').first().waitFor(WAIT);
  assert.deepEqual(await page.locator('#apps tbody tr').evaluateAll((rs) => rs.map((r) => (r as unknown as { dataset: { app: string } }).dataset.app)), [big.appId]);
  const shared = page.url();
  const again = await open(shared);
  await again.page.locator('#apps tbody tr').first().waitFor(WAIT);
  assert.equal(await count(again.page, '#apps tbody tr'), 1);
  assert.equal(await again.page.locator('#app-filters select[name="status"]').inputValue(), 'running');
  await again.page.close();

  await page.goto(`${base}/#/?name=CHURN`);
  await page.locator(`#apps tbody tr[data-app="${big.appId}"]`).waitFor(WAIT);
  assert.equal(await count(page, '#apps tbody tr'), 1);

  // One app a page: Next moves to the second, and says where it is.
  await page.goto(`${base}/#/?sort=duration&size=1`);
  await page.locator(`#apps tbody tr[data-app="${big.appId}"]`).waitFor(WAIT);
  assert.equal(await page.locator('#apps-range').textContent(), '1–1 of 2');
  await page.click('#apps-next');
  await page.locator(`#apps tbody tr[data-app="${f.appId}"]`).waitFor(WAIT);
  assert.equal(await page.locator('#apps-range').textContent(), '2–2 of 2');
  assert.match(page.url(), /offset=1/);
  assert.equal(await page.locator('#apps-next').isDisabled(), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('log viewer: time range, level and words filters in the URL, first error, permalink, context around a search hit', async () => {
  const { page, errors } = await open(`${base}/#/apps/${f.appId}/logs?executor=1`);
  await page.locator('#viewer .line').first().waitFor(WAIT);
  const n1 = f.expected.byExecutor['1']!.length;
  assert.equal(await count(page, '#viewer .line'), n1);

  // 10 s of executor 1: 50 lines (200 ms apart).
  await page.fill('#from', new Date(f.t0 + 10_000).toISOString().replace('T', ' ').replace('Z', ''));
  await page.fill('#to', new Date(f.t0 + 19_999).toISOString().replace('T', ' ').replace('Z', ''));
  await page.press('#to', 'Enter');
  await page.waitForURL(/from=\d+&to=\d+/, WAIT);
  await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('#viewer .line').length === 50, undefined, WAIT);

  await page.selectOption('#level', 'ERROR');
  await page.waitForURL(/level=ERROR/, WAIT);
  await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('#viewer .line').length === 1, undefined, WAIT);
  assert.match((await page.locator('#viewer .line .m summary').textContent()) ?? '', /task 99 of executor 1/);

  // The same view from its URL alone.
  const again = await open(page.url());
  await again.page.locator('#viewer .line').first().waitFor(WAIT);
  assert.equal(await count(again.page, '#viewer .line'), 1);
  assert.equal(await again.page.inputValue('#level'), 'ERROR');
  await again.page.close();

  // Words, over the whole executor.
  await page.goto(`${base}/#/apps/${f.appId}/logs?executor=1&q=${encodeURIComponent('block 343')}`);
  await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('#viewer .line').length === 1, undefined, WAIT);

  // First error: line 49 of executor 1, with the 49 lines before it.
  await page.goto(`${base}/#/apps/${f.appId}/logs?executor=1`);
  await page.locator('#viewer .line').nth(n1 - 1).waitFor(WAIT);
  await page.click('#first-error');
  await page.locator('#viewer .line.target').waitFor(WAIT);
  assert.match((await page.locator('#viewer .line.target .m summary').textContent()) ?? '', /task 49 of executor 1 /);
  assert.equal(await page.locator('#viewer .line').evaluateAll((ls) => ls.findIndex((l) => (l as unknown as { classList: { contains(c: string): boolean } }).classList.contains('target'))), 49);
  await page.screenshot({ path: join(shots, 'lines-first-error.png') });

  // Its permalink opens the same line, highlighted, on a fresh page.
  const href = await page.locator('#viewer .line.target a.ln').getAttribute('href');
  const perma = await open(`${base}/${href}`);
  await perma.page.locator('#viewer .line.target').waitFor(WAIT);
  assert.match((await perma.page.locator('#viewer .line.target .m summary').textContent()) ?? '', /task 49 of executor 1 /);
  await perma.page.close();

  // A search hit in context: within its executor, and across the app.
  await page.goto(`${base}/#/search?q=${encodeURIComponent('block 1393')}`);
  await page.locator('#hits .hit').first().waitFor(WAIT);
  assert.equal(await count(page, '#hits .hit'), 2, 'line 199 of executors 1 and 2 (the driver wrote 120)');
  await page.locator('#histogram canvas').first().waitFor(WAIT);
  assert.equal(await attr(page, '#histogram', 'data-total'), 2);
  await page.screenshot({ path: join(shots, 'search.png') });
  const hitExec = (await page.locator('#hits .hit .meta a:nth-child(2)').first().textContent())!.replace('executor ', '');
  await page.locator('#hits .hit a.ctx-exec').first().click();
  await page.locator('#viewer .line.target').waitFor(WAIT);
  assert.match(page.url(), new RegExp(`executor=${hitExec}&line=`));
  assert.match((await page.locator('#viewer .line.target .m').textContent()) ?? '', new RegExp(`task 199 of executor ${hitExec} `));
  assert.equal(await count(page, '#viewer .line.target ~ .line'), 50, '50 lines after it');
  assert.equal(await page.locator('#viewer .line .x').count(), 0, 'one executor: no executor column');
  await page.goBack();
  await page.locator('#hits .hit a.ctx-app').first().click();
  await page.locator('#viewer .line.target').waitFor(WAIT);
  assert.ok((await page.locator('#viewer .line .x').allTextContents()).length > 50, 'across executors');
  await page.screenshot({ path: join(shots, 'lines-search-context.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('with API tokens on: one token prompt, then the app page and the apps list work', async () => {
  const token = 'page-overview-token-0123456789abcdef';
  const secured = await build({ cfg: testConfig(f.n.prefix, f.esUrl, { apiTokens: [token] }) });
  await secured.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(secured.server.address() as AddressInfo).port}`;
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  try {
    const prompts: string[] = [];
    page.on('dialog', (d) => {
      prompts.push(d.message());
      void d.accept(token);
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/#/apps/${big.appId}`);
    await page.locator('#timeline a.bar').nth(big.executors).waitFor(WAIT);
    await page.locator('#histogram canvas').first().waitFor(WAIT);
    assert.equal(await attr(page, '#histogram', 'data-total'), big.lines);
    assert.equal(await count(page, '#exceptions tbody tr'), 2);
    await page.goto(`${url}/#/?status=running`);
    await page.locator(`#apps tbody tr[data-app="${big.appId}"]`).waitFor(WAIT);
    assert.deepEqual(prompts, ['This server needs an API token:'], 'four requests in parallel, one question');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    await secured.close();
  }
});
