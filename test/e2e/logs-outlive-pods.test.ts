// The promise of the product, end to end: a Spark-like app runs as local pods
// (Spark container + collector sidecar), one executor dies of OOM, every pod
// is deleted with its log directory, and afterwards the query API serves
// every line each pod wrote, exactly once, in order, per executor and
// interleaved for the whole app; `sparklogs logs <app> -e <id>` prints it;
// each pod's end (exit code, reason) is served, and a follow of the finished
// app ends by itself.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runApp, startServices, type DemoOptions, type Services } from '../../deploy/local/demo/run-demo.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { fetchRetrying } from '../helpers/wait.js';

const exec = promisify(execFile);
const { brokers, esUrl } = testStack();
const n = uniqueNames('e2e');
const workDir = join(tmpdir(), n.prefix);
let services: Services | undefined;

after(async () => {
  await services?.stop();
  await fetch(`${esUrl}/${n.prefix}-*`, { method: 'DELETE' });
  await rm(workDir, { recursive: true, force: true });
});

interface ApiLine {
  executorId: string;
  level?: string;
  message: string;
  time: number;
}

async function allLines(apiUrl: string, path: string): Promise<ApiLine[]> {
  const out: ApiLine[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const url = new URL(`${apiUrl}${path}`);
    url.searchParams.set('size', '1000');
    if (cursor) url.searchParams.set('after', cursor);
    // 503 (Elasticsearch slow on a busy machine) and 429 are documented as "try again": asked again, bounded.
    const r = await fetchRetrying(url);
    assert.equal(r.status, 200, `${url}: ${await r.clone().text()}`);
    const body = (await r.json()) as { lines: ApiLine[]; next?: string };
    out.push(...body.lines);
    if (!body.next || body.lines.length === 0) return out;
    cursor = body.next;
  }
  throw new Error('too many pages');
}

test('every line of every deleted pod is served exactly once, in order', async () => {
  const o: DemoOptions = {
    kafkaBrokers: brokers.join(','), esUrl, prefix: n.prefix, apiHost: '127.0.0.1', apiPort: 0,
    executors: 4, linesPerExecutor: 150, durationMs: 12_000, seed: 7, appName: 'etl-e2e', namespace: 'jobs',
    workDir, rotateBytes: 8 * 1024,
  };
  // A follow ends once every executor's pod has ended and no line came for this long (default 30 s).
  process.env.SPARKLOGS_FOLLOW_QUIET_MS = '1000';
  services = await startServices(o);
  const result = await runApp(o, services);
  const appId = result.plan.appId;

  // Every pod is gone: its log directory was removed after its collector drained.
  for (const id of result.written.keys()) {
    const name = id === 'driver' ? 'etl-e2e-driver' : `etl-e2e-exec-${id}`;
    assert.equal(existsSync(join(workDir, 'pods', name)), false, `${name} still has its directory`);
    assert.equal(result.collectorExits.get(id), 0, `collector of ${name} exited ${result.collectorExits.get(id)}`);
  }
  // The driver's log rotated at least once.
  const driverBytes = result.written.get('driver')!.reduce((s, l) => s + l.text.length + 1, 0);
  assert.ok(driverBytes > o.rotateBytes, 'the driver wrote enough to rotate');

  // Per executor: exactly what it wrote, in its order, levels intact.
  for (const [id, written] of result.written) {
    const served = await allLines(services.apiUrl, `/api/v1/apps/${appId}/executors/${id}/logs`);
    assert.equal(served.length, written.length, `executor ${id}: ${served.length} served, ${written.length} written`);
    assert.deepEqual(served.map((l) => l.message), written.map((w) => w.text.replace(/^\S+ \S+ \S+ \S+: /, '')), `executor ${id}: content or order differs`);
    assert.deepEqual(served.map((l) => l.level), written.map((w) => w.level));
  }

  // The OOM stack trace is one event, with its frames.
  const oom = result.plan.executors.find((e) => e.fate === 'oom')!;
  const oomLines = await allLines(services.apiUrl, `/api/v1/apps/${appId}/executors/${oom.executorId}/logs`);
  const trace = oomLines.find((l) => l.message.startsWith('Exception in task 17.0'));
  assert.ok(trace, 'the OOM event is served');
  assert.match(trace.message, /\njava\.lang\.OutOfMemoryError: Java heap space\n\tat java\.base\/java\.util\.Arrays\.copyOf/);
  assert.equal(trace.level, 'ERROR');

  // The whole app, interleaved: every line once, time never goes back, and
  // each executor's lines keep their order.
  const app = await allLines(services.apiUrl, `/api/v1/apps/${appId}/logs`);
  const total = [...result.written.values()].reduce((s, l) => s + l.length, 0);
  assert.equal(app.length, total);
  const ts = app.map((l) => l.time);
  assert.ok(ts.every((t, i) => i === 0 || t >= ts[i - 1]!), 'interleaved view is ordered by time');
  for (const [id, written] of result.written) {
    const mine = app.filter((l) => l.executorId === id).map((l) => l.message);
    assert.deepEqual(mine, written.map((w) => w.text.replace(/^\S+ \S+ \S+ \S+: /, '')), `executor ${id} in the app view`);
  }

  // How each pod ended, as the demo's "kubelet" recorded it through the aggregator's transform and sink:
  // the executor that died of OutOfMemoryError failed with Spark's exit code 52, the others completed
  // (an executor that exits 0 was let go by its driver: removed); the driver succeeded.
  const viewRes = await fetchRetrying(`${services.apiUrl}/api/v1/apps/${appId}`);
  assert.equal(viewRes.status, 200, await viewRes.clone().text());
  const view = (await viewRes.json()) as {
    executors: { executorId: string; status: string; pod?: string; lifecycle?: { exitCode?: number; reason?: string; exitMeaning?: string; startedAt?: number; finishedAt?: number } }[];
  };
  assert.deepEqual(view.executors.map((e) => e.executorId).sort(), [...result.written.keys()].sort());
  for (const e of view.executors) {
    const oomed = e.executorId === oom.executorId;
    assert.ok(e.lifecycle, `executor ${e.executorId} has lifecycle facts`);
    assert.deepEqual(
      [e.status, e.lifecycle.exitCode, e.lifecycle.reason],
      oomed ? ['failed', 52, 'Error'] : [e.executorId === 'driver' ? 'succeeded' : 'removed', 0, 'Completed'],
      `executor ${e.executorId}`,
    );
    if (oomed) assert.equal(e.lifecycle.exitMeaning, 'JVM out of memory (OutOfMemoryError)');
    assert.ok(e.lifecycle.startedAt! < e.lifecycle.finishedAt!, `executor ${e.executorId}: started before it finished`);
    assert.equal(e.pod, e.executorId === 'driver' ? 'etl-e2e-driver' : `etl-e2e-exec-${e.executorId}`);
  }
  const cliPath = join(import.meta.dirname, '../../dist/query-api/cli/main.js');
  const executors = await exec(process.execPath, [cliPath, 'executors', appId, '--server', services.apiUrl]);
  assert.match(executors.stdout, new RegExp(`\\n${oom.executorId} .* failed \\(Error, exit 52: JVM out of memory \\(OutOfMemoryError\\)\\)\\n`));

  // Every pod has ended, so a follow of the finished app prints the last lines and ends by itself.
  const t0 = Date.now();
  // Bounded in minutes (a busy machine slows every poll), far below the hour after which an idle follow would end anyway.
  const follow = await exec(process.execPath, [cliPath, 'logs', appId, '-f', '--tail', '3', '--server', services.apiUrl], { timeout: 600_000 });
  assert.ok(follow.stdout.length > 0, 'the last lines are printed first');
  assert.ok(Date.now() - t0 < 120_000, `follow ended after ${Date.now() - t0} ms`);

  // The CLI prints what that executor wrote.
  const cli = await exec(process.execPath, [join(import.meta.dirname, '../../dist/query-api/cli/main.js'), 'logs', appId, '-e', oom.executorId, '--server', services.apiUrl], { maxBuffer: 64 << 20 });
  const printed = cli.stdout;
  for (const w of result.written.get(oom.executorId)!) {
    assert.ok(printed.includes(w.text.replace(/^\S+ \S+ \S+ \S+: /, '').split('\n')[0]!), `CLI output lacks: ${w.text.slice(0, 80)}`);
  }
});
