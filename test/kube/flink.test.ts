// Real Flink on the real node: a streaming job in Flink's native Kubernetes
// application mode (`flink run --target kubernetes-application`), configured
// by deploy/flink/flink-conf.snippet and the pod templates as deploy/README.md
// step 7 tells a user (plus addresses and the job's own sizes). Its
// TaskManagers log numbered markers; one task throws and Flink restarts the
// job; one TaskManager pod is deleted mid-job and Flink replaces it; then the
// job is cancelled and Flink tears its cluster down. After every pod is gone,
// the query API and the CLI serve each pod's log exactly as the pod printed it
// on its console (every event once, in order), under the cluster id as app id.
import { test, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, consoleEvents, executorLines, followLogs, NAMESPACE, servedEvents, sparklogsCli, uniqueSuffix, watchPods, type ApiExecutor, type ApiLine, type Followed } from './pods.js';
import { describeNamespace, installSparklogs, kubectl, REPO, testCluster, waitFor, type Installed } from './cluster.js';

const cluster = testCluster();
let sparklogs: Installed;

before(async () => {
  sparklogs = await installSparklogs(cluster);
});

const IMAGE = 'sparklogs/flink:2.3.0';
const JOB_JAR = 'local:///opt/flink/examples/streaming/sparklogs-flink-e2e-job.jar';
const LINES = 150;
const FAIL_AT = 15;
const MARKER = /^sparklogs-marker app=(\S+) subtask=(\d+) attempt=(\d+) seq=(\d+)\/(\d+)$/;
const CLOSE = /^sparklogs-task close app=\S+ subtask=(\d+) attempt=(\d+) markers=(\d+)$/;
// Flink's default layout, console and file alike: %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
const FLINK_CONSOLE = /^(?<at>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) (?<level>[A-Z]+) +(?<logger>\S+) +\[[^\]]*\] - (?<msg>.*)$/;
const CONTINUATION = /^(?:\s+at |Caused by:|\s*\.\.\. \d+ more)/;

/** deploy/flink/flink-conf.snippet as -D options, its template paths where they are on this machine. */
function snippetOptions(): string[] {
  const opts: string[] = [];
  for (const line of readFileSync(join(REPO, 'deploy/flink/flink-conf.snippet'), 'utf8').split('\n')) {
    const m = /^([a-z][\w.-]*): *(\S+)$/.exec(line.trim());
    if (!m) continue;
    const value = m[2]!.replace(/^\/opt\/sparklogs\/flink\//, `${join(REPO, 'deploy/flink')}/`);
    opts.push('-D', `${m[1]}=${value}`);
  }
  return opts;
}

/**
 * Submits the test job as a user does: the repository's Flink settings, `extra`, then addresses and
 * the job's own sizes. Returns what the client printed; fails the test if the client failed.
 */
async function submit(t: TestContext, clusterId: string, extra: string[], jobArgs: string[]): Promise<string> {
  const args = [
    'run-application', '--target', 'kubernetes-application',
    ...snippetOptions(),
    ...extra,
    '-D', `kubernetes.cluster-id=${clusterId}`,
    '-D', `kubernetes.container.image.ref=${IMAGE}`,
    '-D', 'kubernetes.container.image.pull-policy=Never',
    // The client on this machine reaches the REST service on the node's address.
    '-D', 'kubernetes.rest-service.exposed.type=NodePort',
    // Small pods for a 2-core node: a quarter core requested, bursts allowed.
    '-D', 'jobmanager.memory.process.size=1024m',
    '-D', 'taskmanager.memory.process.size=1024m',
    '-D', 'taskmanager.numberOfTaskSlots=1',
    '-D', 'kubernetes.jobmanager.cpu.amount=0.25',
    '-D', 'kubernetes.taskmanager.cpu.amount=0.25',
    '-D', 'kubernetes.jobmanager.cpu.limit-factor=8',
    '-D', 'kubernetes.taskmanager.cpu.limit-factor=8',
    JOB_JAR, ...jobArgs,
  ];
  let out = '';
  const client = spawn('bash', [join(REPO, 'deploy/local/flink'), ...args], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig }, cwd: REPO });
  t.after(() => {
    if (client.exitCode === null) client.kill('SIGTERM');
  });
  client.stdout.on('data', (d) => (out += d));
  client.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number>((res) => client.on('close', (c) => res(c ?? -1)));
  if (code !== 0) assert.fail(`flink run exited ${code}:\n${out.slice(-3000)}\n${await describeNamespace(cluster, NAMESPACE)}`);
  return out;
}

/** Markers per subtask/attempt as served for one pod: seq numbers in the order served. */
function markerGroups(lines: ApiLine[], appId: string, of = LINES): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const l of lines) {
    const m = MARKER.exec(l.message);
    if (!m) continue;
    assert.equal(m[1], appId, `a marker of another app: ${l.message}`);
    assert.equal(Number(m[5]), of);
    const key = `${m[2]}/${m[3]}`;
    groups.set(key, [...(groups.get(key) ?? []), Number(m[4])]);
  }
  return groups;
}

const markersIn = (text: string, subtask: number, attempt: number) =>
  text.split('\n').filter((l) => l.includes(`sparklogs-marker `) && l.includes(` subtask=${subtask} attempt=${attempt} `)).length;

test('Flink 2.3 in native Kubernetes application mode: every event of every pod served once, in order, after the pods are gone; the deleted TaskManager\'s end as Kubernetes reported it', { timeout: 20 * 60_000 }, async (t) => {
  const clusterId = `e2e-flink-${uniqueSuffix()}`;
  const artifacts = join(REPO, 'test-artifacts', clusterId);
  mkdirSync(artifacts, { recursive: true });

  // Every pod of the cluster, and what it printed on its console from start to end.
  const pods = new Map<string, { uid: string; node?: string; component: string; follow: Followed }>();
  const watcher = watchPods(cluster, NAMESPACE, `app=${clusterId}`, (p) => {
    const known = pods.get(p.metadata.name);
    if (known) known.node ??= p.spec.nodeName;
    else pods.set(p.metadata.name, { uid: p.metadata.uid, node: p.spec.nodeName, component: p.metadata.labels?.component ?? '', follow: followLogs(cluster, NAMESPACE, p.metadata.name, 'flink-main-container') });
  });
  t.after(async () => {
    await watcher.stop();
    for (const p of pods.values()) p.follow.stop();
    await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'deployment', clusterId, '--ignore-not-found', '--wait=false']).catch(() => undefined);
  });
  const tm = () => [...pods.entries()].filter(([, p]) => p.component === 'taskmanager');

  const clientOut = await submit(t, clusterId, [], ['parallelism=2', `lines=${LINES}`, `spread-ms=${LINES * 1000}`, `fail-at=${FAIL_AT}`]);
  writeFileSync(join(artifacts, 'flink-client.log'), clientOut);
  const rest = /JobManager Web Interface: (http:\/\/\S+)/.exec(clientOut)?.[1];
  assert.ok(rest, `the client names the REST endpoint: ${clientOut.slice(-1000)}`);

  // The injected failure, then the restarted attempt on both subtasks.
  await waitFor('attempt 1 running on both subtasks', async () => {
    const text = tm().map(([, p]) => p.follow.text()).join('\n');
    return markersIn(text, 0, 1) >= 5 && markersIn(text, 1, 1) >= 5 ? true : undefined;
  }, 8 * 60_000, 2000);
  // One TaskManager pod deleted mid-job (default grace), as a node drain or a user would; Flink asks for another.
  const [victim] = tm().find(([, p]) => markersIn(p.follow.text(), 1, 1) > 0)!;
  const before = new Set(tm().map(([name]) => name));
  await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', victim, '--wait=true']);
  await waitFor('a replacement TaskManager and attempt 2 on both subtasks', async () => {
    const text = tm().map(([, p]) => p.follow.text()).join('\n');
    return tm().some(([name]) => !before.has(name)) && markersIn(text, 0, 2) >= 5 && markersIn(text, 1, 2) >= 5 ? true : undefined;
  }, 8 * 60_000, 2000);

  // Cancelled through Flink's REST API; in application mode the cluster then tears itself down.
  const jobs = (await (await fetch(`${rest}/jobs`)).json()) as { jobs: { id: string; status: string }[] };
  const job = jobs.jobs.find((j) => j.status === 'RUNNING');
  assert.ok(job, `a running job: ${JSON.stringify(jobs)}`);
  const cancel = await fetch(`${rest}/jobs/${job.id}?mode=cancel`, { method: 'PATCH' });
  assert.equal(cancel.status, 202, `cancel: ${await cancel.text()}`);
  await waitFor('Flink\'s cluster torn down: no Deployment, no pod', async () => {
    const left = await kubectl(cluster, ['-n', NAMESPACE, 'get', 'deployments,pods', '-l', `app=${clusterId}`, '-o', 'name']);
    return left.trim() === '' ? true : undefined;
  }, 5 * 60_000, 2000).catch(async (err) => assert.fail(`${(err as Error).message}\n${await describeNamespace(cluster, NAMESPACE)}`));
  await watcher.stop();
  await Promise.all([...pods.values()].map((p) => p.follow.ended));
  writeFileSync(join(artifacts, 'consoles.json'), JSON.stringify(Object.fromEntries([...pods].map(([n, p]) => [n, p.follow.text()])), null, 1));

  const jm = [...pods.entries()].filter(([, p]) => p.component === 'jobmanager');
  assert.equal(jm.length, 1, `one JobManager pod: ${[...pods.keys()].join(', ')}`);
  // (Flink may ask for more TaskManagers than it ends up using, and delete one before it starts.)
  const ran = tm().filter(([, p]) => p.follow.text() !== '');
  assert.equal(ran.length, 3, `two TaskManagers and the replacement ran: ${tm().map(([n]) => n).join(', ')}`);
  const executorOf = (name: string) => (pods.get(name)!.component === 'jobmanager' ? 'jobmanager' : name);

  // Served, once the pipeline caught up: as many events as each pod printed, then a little longer
  // so that a late duplicate would be seen.
  const served = new Map<string, ApiLine[]>();
  const printed = new Map([...pods].map(([name, p]) => [name, consoleEvents(p.follow.text(), FLINK_CONSOLE)]));
  await waitFor('every pod\'s events served', async () => {
    for (const name of pods.keys()) served.set(name, await executorLines(sparklogs, clusterId, executorOf(name)));
    return [...pods.keys()].every((n) => served.get(n)!.length >= printed.get(n)!.length) ? true : undefined;
  }, 3 * 60_000, 3000).catch(() => undefined);
  await new Promise((res) => setTimeout(res, 5000));
  for (const name of pods.keys()) served.set(name, await executorLines(sparklogs, clusterId, executorOf(name)));
  writeFileSync(join(artifacts, 'served.json'), JSON.stringify(Object.fromEntries(served), null, 1));

  // Every event once, in order, per pod: what the pod printed is what is served.
  for (const name of pods.keys()) {
    if (pods.get(name)!.follow.text() !== '') assert.ok(printed.get(name)!.length > 20, `${name} printed its log (${printed.get(name)!.length} events)`);
    assert.deepEqual(servedEvents(served.get(name)!), printed.get(name), `${name}: served events vs its console`);
  }

  // The markers: each subtask attempt on one pod, 1..k in order; the failing attempt stopped at FAIL_AT;
  // an attempt's own count (its close line, where it got to write one) agrees.
  const owner = new Map<string, string>();
  for (const [name] of tm()) {
    const groups = markerGroups(served.get(name)!, clusterId);
    for (const [key, seqs] of groups) {
      assert.ok(!owner.has(key), `attempt ${key} on ${owner.get(key)} and ${name}`);
      owner.set(key, name);
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `${name}, subtask/attempt ${key}: markers in order`);
    }
    for (const l of served.get(name)!) {
      const m = CLOSE.exec(l.message);
      if (m) assert.equal(groups.get(`${m[1]}/${m[2]}`)?.length ?? 0, Number(m[3]), `${name}: ${l.message}`);
    }
  }
  for (const key of ['0/0', '1/0', '0/1', '1/1', '0/2', '1/2']) assert.ok(owner.has(key), `markers of subtask/attempt ${key}: ${[...owner.keys()].join(' ')}`);
  assert.equal(markerGroups(served.get(owner.get('0/0')!)!, clusterId).get('0/0')!.length, FAIL_AT, 'the failing attempt\'s markers');
  assert.ok(markerGroups(served.get(victim)!, clusterId).get('1/1')!.length >= 5, 'the deleted TaskManager\'s last attempt');

  // Levels and loggers from Flink's default layout (it prints no thread).
  const all = [...served.values()].flat();
  assert.ok(all.every((l) => /^(TRACE|DEBUG|INFO|WARN|ERROR)$/.test(l.level ?? '') && l.logger), 'every event has its level and logger');
  assert.ok(all.some((l) => l.logger === 'dev.sparklogs.e2e.Marker' && l.level === 'INFO' && MARKER.test(l.message)), 'markers with their logger');
  assert.ok(all.some((l) => l.logger === 'org.apache.flink.kubernetes.taskmanager.KubernetesTaskExecutorRunner'), 'Flink\'s own loggers');

  // Stack traces: one event each, never a served line of its own.
  assert.deepEqual(all.filter((l) => CONTINUATION.test(l.message)).map((l) => l.message.slice(0, 120)), [], 'stack trace lines served as events');
  const failed = served.get(owner.get('0/0')!)!.filter((l) => l.message.includes('sparklogs-e2e injected task failure') && l.logger === 'org.apache.flink.runtime.taskmanager.Task');
  assert.equal(failed.length, 1, `the injected failure, one event on its TaskManager: ${failed.map((l) => l.message.slice(0, 200)).join(' | ')}`);
  assert.equal(failed[0]!.level, 'WARN');
  assert.equal(failed[0]!.exception, 'java.lang.IllegalStateException');
  assert.match(failed[0]!.message, /\n\tat dev\.sparklogs\.e2e\.flink\.MarkerTask\.injectedFailure/);
  assert.match(failed[0]!.message, /\nCaused by: java\.io\.IOException: sparklogs-e2e injected cause/);
  assert.match(failed[0]!.message, /\nCaused by: java\.lang\.NumberFormatException/);
  const jmFailed = served.get(jm[0]![0])!.filter((l) => l.message.includes('sparklogs-e2e injected task failure') && /\n\tat /.test(l.message));
  assert.ok(jmFailed.length >= 1 && jmFailed.every((l) => l.exception === 'java.lang.IllegalStateException'), 'the JobManager\'s account of it, with its trace');
  assert.ok(served.get(jm[0]![0])!.some((l) => l.message.startsWith(`sparklogs-job start app=${clusterId}`)), 'the job\'s main() ran in the JobManager');

  // The app under Flink's cluster id; its executors: jobmanager and the TaskManager pods; how each pod ended.
  const app = (await api<{ appType: string; executors: ApiExecutor[] }>(sparklogs, `/api/v1/apps/${clusterId}`))!;
  writeFileSync(join(artifacts, 'app.json'), JSON.stringify(app, null, 2));
  assert.equal(app.appType, 'flink');
  // A pod is known to the node collector that watches its node: one Flink gave up before the
  // scheduler bound it (a CI run: taskmanager-1-3, never on a node) has no executor.
  const bound = [...pods.keys()].filter((n) => pods.get(n)!.node);
  assert.deepEqual(new Set(app.executors.map((e) => e.executorId)), new Set(bound.map(executorOf)), `pods: ${[...pods].map(([n, p]) => `${n}@${p.node ?? 'unbound'}`).join(', ')}`);
  for (const e of app.executors) {
    const name = e.executorId === 'jobmanager' ? jm[0]![0] : e.executorId;
    assert.equal(e.pod, name, `${e.executorId}: pod`);
    assert.equal(e.role, pods.get(name)!.component, `${e.executorId}: role`);
    assert.ok(e.lifecycle?.finishedAt, `${e.executorId}: its end is known: ${JSON.stringify(e.lifecycle)}`);
    // The JobManager deletes its own Deployment when the job is done and then exits 0. Which comes
    // first depends on the garbage collector's pace: deleted before it exited, it was removed; exited
    // first (a CI run: the JobManager at :56, its TaskManagers stopped by the deletion at :57), it
    // completed, and the app's lead pod succeeded.
    const jmFirst = e.executorId === 'jobmanager' && e.lifecycle?.reason === 'Completed';
    if (jmFirst) {
      assert.equal(e.lifecycle?.exitCode, 0, `jobmanager, ended before its deletion: ${JSON.stringify(e.lifecycle)}`);
      assert.equal(e.status, 'succeeded', `jobmanager: ${JSON.stringify(e)}`);
      t.diagnostic('the JobManager exited 0 before its deletion reached it');
    } else {
      // Every other pod ended by its deletion: the victim by hand, the others when Flink tore its cluster
      // down (or gave up a TaskManager before it started).
      assert.equal(e.lifecycle?.reason, 'Deleted', `${e.executorId}: ${JSON.stringify(e.lifecycle)}`);
    }
    // (One that never started has no exit code: the API says its status is unknown.)
    if (pods.get(name)!.follow.text() === '') continue;
    if (!jmFirst) assert.equal(e.status, 'removed', `${e.executorId}: ${JSON.stringify(e)}`);
    assert.equal(e.node, pods.get(name)!.node, `${e.executorId}: node`);
  }
  const deleted = app.executors.find((e) => e.executorId === victim)!;
  assert.equal(deleted.lifecycle?.exitCode, 143, `${victim}: ${JSON.stringify(deleted.lifecycle)}`);
  assert.equal(deleted.lifecycle?.reason, 'Deleted', `${victim}: ${JSON.stringify(deleted.lifecycle)}`);
  assert.equal(deleted.status, 'removed');

  // The CLI says the same.
  const apps = await sparklogsCli(sparklogs, ['apps', '--type', 'flink', '--prefix', clusterId]);
  assert.match(apps, new RegExp(`^${clusterId}\\s+flink\\s`, 'm'), 'sparklogs apps --type flink lists the cluster id');
  const table = await sparklogsCli(sparklogs, ['executors', clusterId]);
  writeFileSync(join(artifacts, 'executors.txt'), table);
  for (const name of bound) assert.match(table, new RegExp(`^${executorOf(name)}\\s`, 'm'), `sparklogs executors lists ${executorOf(name)}`);
  assert.match(table, new RegExp(`^${victim}\\s.*removed \\(Deleted, exit 143`, 'm'), 'sparklogs executors: how the deleted TaskManager ended');
  const victimLog = await sparklogsCli(sparklogs, ['logs', clusterId, '-e', victim]);
  assert.equal(victimLog.split('\n').filter((l) => l.includes('sparklogs-marker')).length, [...markerGroups(served.get(victim)!, clusterId).values()].flat().length, 'sparklogs logs -e <deleted pod> prints every marker');
  const whole = await sparklogsCli(sparklogs, ['logs', clusterId]);
  assert.equal(whole.split('\n').filter((l) => l.includes('sparklogs-marker')).length, all.filter((l) => MARKER.test(l.message)).length, 'sparklogs logs <cluster id> prints every marker');
});

// Flink's own env.stdout-err.redirect-to-file (deploy/flink/flink-conf.snippet, commented there):
// the image's entrypoint writes stdout and stderr to <log>.out and .err as flink-console.sh does,
// the templates' sidecar ships them as streams of their own, and the log4j console is off.
test('Flink 2.3 with env.stdout-err.redirect-to-file: what the job prints is served as the TaskManager\'s stdout and stderr, once, in order; its log as before', { timeout: 15 * 60_000 }, async (t) => {
  const clusterId = `e2e-flinkout-${uniqueSuffix()}`;
  const lines = 40;
  const pods = new Map<string, { component: string; follow: Followed }>();
  const watcher = watchPods(cluster, NAMESPACE, `app=${clusterId}`, (p) => {
    if (!pods.has(p.metadata.name)) pods.set(p.metadata.name, { component: p.metadata.labels?.component ?? '', follow: followLogs(cluster, NAMESPACE, p.metadata.name, 'flink-main-container') });
  });
  t.after(async () => {
    await watcher.stop();
    for (const p of pods.values()) p.follow.stop();
    await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'deployment', clusterId, '--ignore-not-found', '--wait=false']).catch(() => undefined);
  });
  await submit(t, clusterId, ['-D', 'env.stdout-err.redirect-to-file=true'], ['parallelism=1', `lines=${lines}`, 'spread-ms=4000']);
  // In application mode the cluster goes when its job is done.
  await waitFor('the job done and Flink\'s cluster torn down', async () => {
    const left = await kubectl(cluster, ['-n', NAMESPACE, 'get', 'deployments,pods', '-l', `app=${clusterId}`, '-o', 'name']);
    return left.trim() === '' ? true : undefined;
  }, 8 * 60_000, 2000).catch(async (err) => assert.fail(`${(err as Error).message}\n${await describeNamespace(cluster, NAMESPACE)}`));
  await watcher.stop();
  await Promise.all([...pods.values()].map((p) => p.follow.ended));
  const ran = [...pods].filter(([, p]) => p.component === 'taskmanager' && p.follow.text() !== '');
  assert.equal(ran.length, 1, `one TaskManager ran: ${[...pods.keys()].join(', ')}`);
  const [tm, { follow }] = ran[0]!;

  const want = Array.from({ length: lines / 10 }, (_, i) => `sparklogs-stdout app=${clusterId} subtask=0 attempt=0 seq=${(i + 1) * 10}/${lines}`);
  const stdout = await waitFor('the TaskManager\'s stdout served', async () => {
    const out = await executorLines(sparklogs, clusterId, tm, 'stdout');
    return out.length >= want.length ? out : undefined;
  }, 3 * 60_000, 3000);
  await new Promise((res) => setTimeout(res, 5000));
  const [out, err, all] = [await executorLines(sparklogs, clusterId, tm, 'stdout'), await executorLines(sparklogs, clusterId, tm, 'stderr'), await executorLines(sparklogs, clusterId, tm)];
  assert.ok(stdout.length > 0);
  assert.deepEqual(out.map((l) => l.message), want, 'stdout: every printed line once, in order, and nothing else');
  assert.ok(out.every((l) => l.stream === 'stdout') && err.every((l) => l.stream === 'stderr'));
  assert.deepEqual(err.filter((l) => l.message.startsWith('sparklogs-stderr ')).map((l) => l.message), [`sparklogs-stderr app=${clusterId} subtask=0 attempt=0 markers=${lines}`], 'stderr: the close line');
  assert.deepEqual([...out, ...err].filter((l) => l.message.includes('sparklogs-marker')).map((l) => l.message), [], 'no log line copied into stdout or stderr');
  // The log, from the file as before: every marker once, in order.
  const log = all.filter((l) => l.stream === undefined);
  assert.deepEqual(markerGroups(log, clusterId, lines).get('0/0'), Array.from({ length: lines }, (_, i) => i + 1), 'the log\'s markers');
  // The console: what was printed (a copy), and no log line (the console appender is off).
  const consoleText = follow.text();
  for (const l of want) assert.ok(consoleText.includes(l), `the console shows ${l}`);
  assert.ok(!consoleText.includes('sparklogs-marker'), 'the log4j console is off');
  // The CLI marks them.
  const printed = await sparklogsCli(sparklogs, ['logs', clusterId, '-e', tm, '--stream', 'stdout']);
  assert.equal(printed.split('\n').filter((l) => l.includes('sparklogs-stdout')).length, want.length, `sparklogs logs -e ${tm} --stream stdout`);
});
