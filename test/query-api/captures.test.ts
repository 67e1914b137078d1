// An executor with three sequences written at the same time (sidecar mode):
// its log file, and whole-stream captures of its container's stdout and of its
// stderr. The follow keeps one position per sequence (executor, executor/stdout,
// executor/stderr), so a capture ahead of the log file hides none of the log's
// lines; `stream=stdout|stderr` filters every line route; an executor's 'file'
// order reads its log file, then stderr, then stdout, and pages both ways
// through those sections (a log file line's sort value is null); a follow
// position of an older client (keyed by the executor id) still works.
//
// Part 1 goes through Kafka and the real aggregator binary (records of the
// three files interleaved in one partition). Part 2 writes the aggregator's own
// documents (its transform) to Elasticsearch one at a time, in the order a
// delayed write would make them visible: stdout lines searchable before
// earlier log lines, a capture line before an earlier one of its own file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { runToEnd, type Finished } from '../helpers/process.js';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { lineItems } from '../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import type { Batch } from '../../contract/index.js';
import { build } from '../../query-api/app.js';
import { readEvents } from '../../query-api/cli/sse.js';
import { cleanup, es } from '../aggregator/harness.js';
import { source, sparkLine, startSeeder, type Seeder, type Src } from '../helpers/seed.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { SLOW_MS, waitUntil } from '../helpers/wait.js';
import { injectRetrying, testConfig } from './fixture.js';

const CLI = fileURLToPath(new URL('../../dist/query-api/cli/main.js', import.meta.url));
const { brokers, esUrl } = testStack();
const n = uniqueNames('captures');
const clock = new ZonedClock('UTC');
let seeder: Seeder;
let app: FastifyInstance;
let api: string;
const procs: ChildProcess[] = [];
/** Follow streams still open (a failed assertion leaves them): closed at the end. */
const open = new Set<Follow>();

before(async () => {
  seeder = await startSeeder(n, brokers, esUrl);
  app = await build({ cfg: testConfig(n.prefix, esUrl, { followPollMs: 100, followIdlePollMs: 100, followGapMs: 3000 }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
after(async () => {
  for (const f of open) await f.stop();
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await app?.close();
  await seeder?.stop();
  await cleanup(esUrl, n);
});

type Line = { message: string; executorId: string; stream?: string; log?: string; cursor: string; time: number };
type Kind = 'log' | 'stdout' | 'stderr';
const KINDS: Kind[] = ['log', 'stderr', 'stdout'];

/** Executor `e`'s three sources: its log file (#0), its stderr (#1) and stdout (#2) captures. */
function sources(appId: string, e: string): Record<Kind, Src> {
  return {
    // source() gives a whole-stream source by default: a log file has no stream.
    log: source(appId, e, { stream: undefined, file: '/opt/spark/logs/executor.log', fileId: `log-${e}`, fileSeq: 0 }),
    stderr: source(appId, e, { stream: 'stderr', file: '/opt/spark/logs/stderr', fileId: `err-${e}`, fileSeq: 1 }),
    stdout: source(appId, e, { stream: 'stdout', file: '/opt/spark/logs/stdout', fileId: `out-${e}`, fileSeq: 2 }),
  };
}

/** Line `i` of a sequence: a log4j line in the log file, println text in a capture. */
function text(kind: Kind, e: string, i: number, t0: number): string {
  return kind === 'log' ? sparkLine(t0 + i * 100, 'INFO', 'Executor', `log ${e}:${i}`) : `${kind} ${e}:${i} printed by the job`;
}
/** The message the API shows for it (the log4j header is parsed into fields). */
const message = (kind: Kind, e: string, i: number) => (kind === 'log' ? `log ${e}:${i}` : `${kind} ${e}:${i} printed by the job`);

/** Events first..first+count-1 of one sequence as one record (numbered, offsets like a file's). */
function record(src: Src, kind: Kind, e: string, first: number, count: number, t0: number): Batch {
  const lines: Batch['lines'] = [];
  for (let i = first; i < first + count; i++) lines.push({ off: i * 100, t: t0 + i * 100 + (kind === 'log' ? 0 : kind === 'stderr' ? 30 : 60), m: text(kind, e, i, t0) });
  return { v: 1, src, n: first, lines };
}

/** `[kind, i]` of a line of executor e, from its message. */
function which(l: Line): [Kind, number] {
  const m = /^(log|stdout|stderr) [^:]+:(\d+)/.exec(l.message);
  if (!m) throw new Error(`not a test line: ${l.message}`);
  return [m[1] as Kind, Number(m[2])];
}

/** Per sequence, the numbers of the lines received, in the order received. */
function bySequence(lines: Line[]): Record<Kind, number[]> {
  const out: Record<Kind, number[]> = { log: [], stdout: [], stderr: [] };
  for (const l of lines) {
    const [k, i] = which(l);
    out[k].push(i);
    // The line says which sequence it is of.
    assert.equal(l.log, k === 'log' ? undefined : k, `log of ${l.message}`);
    assert.equal(l.stream, k === 'log' ? undefined : k, `stream of ${l.message}`);
  }
  return out;
}

const range = (count: number) => Array.from({ length: count }, (_, i) => i);

interface Follow {
  lines: Line[];
  warnings: { code: string; message: string; log?: string; sequence?: string; from: number; to: number }[];
  lastId?: string;
  stop(): Promise<void>;
}

/** A follow stream read as it comes. */
async function follow(path: string): Promise<Follow> {
  const ctl = new AbortController();
  const res = await fetch(`${api}${path}`, { signal: ctl.signal });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  const f: Follow = { lines: [], warnings: [], stop: async () => undefined };
  const reading = (async () => {
    try {
      for await (const ev of readEvents(res.body!)) {
        if (ev.id) f.lastId = ev.id;
        if (ev.event === 'lines') f.lines.push(...(JSON.parse(ev.data) as { lines: Line[] }).lines);
        if (ev.event === 'warning') f.warnings.push(JSON.parse(ev.data) as Follow['warnings'][number]);
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  f.stop = async () => {
    open.delete(f);
    ctl.abort();
    await reading;
  };
  open.add(f);
  return f;
}

/** The real CLI, run to its end. */
function cli(args: string[]): Promise<Finished> {
  return runToEnd(process.execPath, [CLI, ...args], { env: { ...process.env, SPARKLOGS_URL: api, NO_COLOR: '1' }, timeoutMs: SLOW_MS });
}

// ---- Part 1: through Kafka and the aggregator ---------------------------------

const appA = `spark-cap${randomBytes(5).toString('hex')}`;
const PER = 60;
const tA = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

test('through the aggregator: three sequences of one executor written together are each followed once, in order; stream filter, file order and cursors', { timeout: 300_000 }, async () => {
  // The driver's log file first: the app exists before the follows start.
  const driver = sources(appA, 'driver').log;
  await seeder.send([record(driver, 'log', 'driver', 0, 20, tA)]);
  await seeder.waitForLines(20);
  const appFollow = await follow(`/api/v1/apps/${appA}/follow?tail=0`);
  const stdoutFollow = await follow(`/api/v1/apps/${appA}/follow?tail=0&stream=stdout`);

  // Executor 3's three files, written at the same time: their records interleave in its partition.
  const src = sources(appA, '3');
  const records: Batch[] = [];
  for (let i = 0; i < PER; i += 5) for (const k of ['stdout', 'log', 'stderr'] as Kind[]) records.push(record(src[k], k, '3', i, 5, tA));
  await seeder.send(records);
  await seeder.waitForLines(20 + 3 * PER);
  const execFollow = await follow(`/api/v1/apps/${appA}/executors/3/follow?tail=1000`);
  await waitUntil(() => appFollow.lines.length >= 3 * PER && stdoutFollow.lines.length >= PER && execFollow.lines.length >= 3 * PER, {
    what: 'the follows to send every line',
    state: () => `${appFollow.lines.length} / ${stdoutFollow.lines.length} / ${execFollow.lines.length}`,
  });
  await new Promise((r) => setTimeout(r, 500));
  for (const f of [appFollow, stdoutFollow, execFollow]) await f.stop();
  for (const [name, f] of [['app follow', appFollow], ['executor follow (tail)', execFollow]] as const) {
    assert.deepEqual(bySequence(f.lines.filter((l) => l.executorId === '3')), { log: range(PER), stdout: range(PER), stderr: range(PER) }, `${name}: every line of each sequence once, in order`);
    assert.deepEqual(f.warnings, [], name);
  }
  assert.deepEqual(bySequence(stdoutFollow.lines), { log: [], stdout: range(PER), stderr: [] }, 'follow with stream=stdout: the stdout lines, once each, in order');

  // Static reads in 'file' order: the log file, then stderr, then stdout, each in file order.
  const want = KINDS.flatMap((k) => range(PER).map((i) => message(k, '3', i)));
  const exec = `/api/v1/apps/${appA}/executors/3/logs`;
  const all = (await injectRetrying(app, { url: `${exec}?size=1000` })).json() as { lines: Line[] };
  assert.deepEqual(all.lines.map((l) => l.message), want, 'sections: log, stderr, stdout');

  // Cursors both ways through the sections, pages crossing their borders (7 does not divide 60).
  const forward: string[] = [];
  let next: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const r = (await injectRetrying(app, { url: `${exec}?size=7${next ? `&after=${next}` : ''}` })).json() as { lines: Line[]; next?: string };
    forward.push(...r.lines.map((l) => l.message));
    if (r.lines.length < 7) break;
    next = r.next;
  }
  assert.deepEqual(forward, want, 'forward with `after`');
  const backward: string[][] = [];
  let prev: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const r = (await injectRetrying(app, { url: `${exec}?${prev ? `size=7&before=${prev}` : 'tail=7'}` })).json() as { lines: Line[]; prev?: string };
    if (r.lines.length === 0) break;
    backward.unshift(r.lines.map((l) => l.message));
    prev = r.prev;
  }
  assert.deepEqual(backward.flat(), want, 'backward with `before` from the tail');
  // A line's own cursor, at the border between the log file and stderr: the lines around it.
  const border = all.lines[PER - 1]!;
  const around = (await injectRetrying(app, { url: `${exec}?size=2&after=${border.cursor}` })).json() as { lines: Line[] };
  assert.deepEqual(around.lines.map((l) => l.message), [message('stderr', '3', 0), message('stderr', '3', 1)]);
  const behind = (await injectRetrying(app, { url: `${exec}?size=2&before=${all.lines[PER]!.cursor}` })).json() as { lines: Line[] };
  assert.deepEqual(behind.lines.map((l) => l.message), [message('log', '3', PER - 2), message('log', '3', PER - 1)]);

  // stream= on the other line routes.
  const stdoutOnly = range(PER).map((i) => message('stdout', '3', i));
  const execOut = (await injectRetrying(app, { url: `${exec}?stream=stdout&size=1000` })).json() as { lines: Line[] };
  assert.deepEqual(execOut.lines.map((l) => l.message), stdoutOnly, 'executor lines, stream=stdout');
  const appErr = (await injectRetrying(app, { url: `/api/v1/apps/${appA}/logs?stream=stderr&size=1000` })).json() as { lines: Line[] };
  assert.deepEqual(appErr.lines.map((l) => l.message), range(PER).map((i) => message('stderr', '3', i)), 'app lines, stream=stderr (by time)');
  const appAll = (await injectRetrying(app, { url: `/api/v1/apps/${appA}/logs?size=1000` })).json() as { lines: Line[] };
  assert.equal(appAll.lines.length, 20 + 3 * PER);
  assert.ok(appAll.lines.every((l, i) => i === 0 || appAll.lines[i - 1]!.time <= l.time), 'the app view stays in time order, every sequence interleaved');
  const download = await injectRetrying(app, { url: `/api/v1/apps/${appA}/executors/3/download?stream=stdout` });
  assert.equal(download.statusCode, 200);
  assert.deepEqual(download.body.trim().split('\n').map((l) => l.replace(/^\S+ -\s+/, '')), stdoutOnly.map((m) => `[stdout] ${m}`), 'download, stream=stdout: the lines marked');
  const search = (await injectRetrying(app, { url: `/api/v1/search?q=printed&appId=${appA}&stream=stdout&size=1000` })).json() as { hits: { line: Line; executorCursor: string }[] };
  assert.equal(search.hits.length, PER);
  assert.ok(search.hits.every((h) => h.line.log === 'stdout'));
  // A hit's executor cursor opens it within its executor's own order.
  const hit = search.hits[0]!;
  const ctx = (await injectRetrying(app, { url: `${exec}?size=1&before=${hit.executorCursor}` })).json() as { lines: Line[] };
  assert.deepEqual(ctx.lines.map((l) => l.message), [message('stdout', '3', PER - 2)], 'the hit before the newest stdout line');
  const hist = (await injectRetrying(app, { url: `/api/v1/apps/${appA}/histogram?stream=stdout` })).json() as { total: number };
  assert.equal(hist.total, PER, 'histogram, stream=stdout');

  // Invalid values: the API's usual 400 naming the parameter.
  for (const url of [`${exec}?stream=syslog`, `/api/v1/apps/${appA}/logs?stream=STDOUT`, `/api/v1/apps/${appA}/follow?stream=both`, `/api/v1/apps/${appA}/download?stream=`, `/api/v1/search?q=x&stream=1`]) {
    const r = await injectRetrying(app, { url });
    assert.equal(r.statusCode, 400, url);
    const e = (r.json() as { error: { code: string; message: string; param: string } }).error;
    assert.equal(e.code, 'BAD_PARAMETER', url);
    assert.match(e.message, /^stream: must be one of stdout, stderr/, url);
  }

  // The CLI: --stream stdout prints exactly the stdout lines, marked.
  const out = await cli(['logs', appA, '-e', '3', '--stream', 'stdout']);
  assert.equal(out.code, 0, out.err);
  assert.deepEqual(out.out.trim().split('\n').map((l) => l.replace(/^\S+ -\s+/, '')), stdoutOnly.map((m) => `[stdout] ${m}`));
  const appOut = await cli(['logs', appA, '--stream', 'stdout', '--json']);
  assert.deepEqual(appOut.out.trim().split('\n').map((l) => (JSON.parse(l) as Line).message), stdoutOnly);
  // Without a filter: the executor column names the capture.
  const mixed = await cli(['logs', appA]);
  const tags = new Set(mixed.out.trim().split('\n').map((l) => /\[([^\]]+)\]/.exec(l)?.[1]));
  assert.deepEqual([...tags].sort(), ['3', '3/stderr', '3/stdout', 'driver']);
  const found = await cli(['search', 'printed', '--app', appA, '--stream', 'stderr', '--limit', '1000']);
  assert.equal(found.out.trim().split('\n').length, PER);
  assert.ok(found.out.trim().split('\n').every((l) => l.includes('[3/stderr]')), found.out.slice(0, 300));
  const bad = await cli(['logs', appA, '--stream', 'syslog']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--stream/);
  const help = await cli(['logs', '--help']);
  assert.match(help.out, /--stream <stream>/);
  assert.match(help.out, /\[3\/stdout\]/);
});

// ---- Part 2: visibility in another order than written -------------------------

const appB = `spark-cap${randomBytes(5).toString('hex')}`;
const tB = Date.now() - 60_000;
const srcB = sources(appB, '3');

/** Makes line `i` of a sequence of executor 3 searchable now (the aggregator's own document for it). */
async function put(kind: Kind, i: number): Promise<void> {
  const [item] = lineItems(record(srcB[kind], kind, '3', i, 1, tB), n, clock);
  await es(esUrl, `/${item!.index}/_doc/${item!.id}?refresh=true`, item!.doc, 'PUT');
}

test('a capture ahead of the log file hides none of its lines; a gap in a capture holds only that capture and is reported naming it; an older client\'s position still works', { timeout: 300_000 }, async () => {
  for (const i of [0, 1, 2]) await put('log', i);
  const execFollow = await follow(`/api/v1/apps/${appB}/executors/3/follow?tail=100`);
  const appFollow = await follow(`/api/v1/apps/${appB}/follow?tail=100`);
  const cliFollow = spawn(process.execPath, [CLI, 'logs', appB, '-f', '--stream', 'stdout', '--json'], { env: { ...process.env, SPARKLOGS_URL: api }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(cliFollow);
  let cliOut = '';
  let cliErr = '';
  cliFollow.stdout!.on('data', (b: Buffer) => (cliOut += b.toString()));
  cliFollow.stderr!.on('data', (b: Buffer) => (cliErr += b.toString()));
  const cliLines = () => cliOut.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  const both = [execFollow, appFollow];
  const state = () => JSON.stringify({ exec: execFollow.lines.map((l) => which(l).join(' ')), app: appFollow.lines.map((l) => which(l).join(' ')), cli: cliLines().length, cliErr });
  const sent = (count: number) => waitUntil(() => both.every((f) => f.lines.length >= count), { what: `${count} lines followed`, timeoutMs: 60_000, state });
  await sent(3);

  // The stdout capture (file #2) becomes searchable while the log file's lines 3-5 are not yet.
  for (const i of [0, 1, 2, 3]) await put('stdout', i);
  await sent(7);
  for (const i of [3, 4, 5]) await put('log', i);
  await sent(10);

  // stderr (file #1, before stdout's #2) starts; stdout's line 5 is visible before its line 4.
  await put('stderr', 0);
  await put('stderr', 1);
  await put('stdout', 5);
  await put('log', 6);
  await sent(13);
  await new Promise((r) => setTimeout(r, 1000));
  for (const f of both) assert.ok(!f.lines.some((l) => l.message === message('stdout', '3', 5)), 'stdout line 5 waits for line 4');
  await put('stdout', 4);
  await sent(15);

  // stderr's line 2 never comes: after followGapMs the follow says so, naming the stream, and goes on with 3.
  await put('stderr', 3);
  await waitUntil(() => both.every((f) => f.lines.some((l) => l.message === message('stderr', '3', 3))), { what: 'stderr line 3 after the gap was given up on', timeoutMs: 60_000, state });
  await waitUntil(() => cliLines().length >= 6, { what: 'the CLI to print the stdout lines', timeoutMs: 60_000, state });
  const lastId = execFollow.lastId;
  for (const f of both) await f.stop();
  cliFollow.kill('SIGINT');

  const want = { log: range(7), stdout: range(6), stderr: [0, 1, 3] };
  assert.deepEqual(bySequence(execFollow.lines), want, 'executor follow: each sequence once, in order');
  assert.deepEqual(bySequence(appFollow.lines), want, 'app follow: each sequence once, in order');
  for (const f of both) {
    assert.deepEqual(f.warnings.map((w) => [w.code, w.log, w.sequence, w.from, w.to]), [['LINES_MISSING', 'stderr', '3/stderr', 2, 2]]);
    assert.match(f.warnings[0]!.message, /^executor 3: lines 2-2 of its stderr \(file #1\) were not stored within 3 s/);
  }
  assert.deepEqual(bySequence(cliLines()), { log: [], stdout: range(6), stderr: [] }, 'logs -f --stream stdout: exactly the stdout lines, once, in order');
  // Its filter reads every sequence that may hold stdout lines (the log file, as a CRI file would hold them), not the stderr capture: no gap of it to wait at.
  assert.doesNotMatch(cliErr, /stderr|not stored/, 'the stdout follow does not wait at the stderr capture\'s gap');

  // Resuming with the last position: nothing again, the next line of each sequence.
  const resumed = await fetch(`${api}/api/v1/apps/${appB}/executors/3/follow`, { headers: { 'last-event-id': lastId! } });
  const positions = JSON.parse(Buffer.from(lastId!, 'base64url').toString()) as { f: Record<string, number[]> };
  assert.deepEqual(Object.keys(positions.f).sort(), ['3', '3/stderr', '3/stdout'], 'a position per sequence');
  await resumed.body?.cancel();

  // An older client's position: keyed by the executor id (its log file, up to line 2).
  const old = Buffer.from(JSON.stringify({ f: { '3': [0, 200, 2] } })).toString('base64url');
  const oldFollow = await follow(`/api/v1/apps/${appB}/executors/3/follow?cursor=${old}`);
  await waitUntil(() => oldFollow.lines.length >= 4 + 6 + 3, { what: 'the follow from an older position', timeoutMs: 60_000, state: () => JSON.stringify(oldFollow.lines.map((l) => which(l).join(' '))) });
  await put('log', 7);
  await waitUntil(() => oldFollow.lines.length >= 14, { what: 'a new log line', timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 500));
  await oldFollow.stop();
  assert.deepEqual(bySequence(oldFollow.lines), { log: [3, 4, 5, 6, 7], stdout: range(6), stderr: [0, 1, 3] }, 'the log file after the position; the captures it does not name from their start');
});
