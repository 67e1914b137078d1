// Real Spark on the real node (K1, K2, K3 of SCENARIOS.md): spark-submit
// --master k8s://... --deploy-mode cluster, configured only by
// deploy/spark/spark-defaults.conf and the pod templates (plus addresses and
// the job's own settings), with sparklogs installed from the overlay as a
// user would. Dynamic allocation removes and adds executors, one task
// throws, one executor is killed by the kernel at its memory limit, every
// task logs numbered markers. After the app has ended and every pod is gone,
// the query API and the CLI serve every marker exactly once, in order, on the
// executor that wrote it, and the pod ends as Kubernetes reported them.
// Spark 4 runs with its structured logging on and the repository's JSON
// log4j2 file: every JSON object one event, with Spark's context fields.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ApiExecutor } from './pods.js';
import { describeNamespace, installSparklogs, killContainer, kubectl, kubectlJson, REPO, sparkVersions, testCluster, waitFor, type Installed } from './cluster.js';

const exec = promisify(execFile);
const cluster = testCluster();
let sparklogs: Installed;

before(async () => {
  sparklogs = await installSparklogs(cluster);
});

interface ApiLine {
  executorId: string;
  level?: string;
  logger?: string;
  thread?: string;
  message: string;
  exception?: string;
  mdc?: Record<string, string>;
  pod?: string;
  node?: string;
  stream?: string;
}


async function api<T>(path: string): Promise<T> {
  // The query API documents 503 (store unavailable) as retriable.
  for (let i = 0; ; i++) {
    const r = await fetch(`${sparklogs.apiUrl}${path}`, { headers: { authorization: `Bearer ${sparklogs.token}` } });
    if (r.status === 503 && i < 30) {
      await new Promise((res) => setTimeout(res, 1000));
      continue;
    }
    assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
    return (await r.json()) as T;
  }
}

/** Every line of an executor (its log, then its stderr and stdout), or of one stream. */
async function executorLines(appId: string, executorId: string, stream?: 'stdout' | 'stderr'): Promise<ApiLine[]> {
  const out: ApiLine[] = [];
  let after: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const q = new URLSearchParams({ size: '1000', ...(stream ? { stream } : {}), ...(after ? { after } : {}) });
    const body = await api<{ lines: ApiLine[]; next?: string }>(`/api/v1/apps/${appId}/executors/${encodeURIComponent(executorId)}/logs?${q}`);
    out.push(...body.lines);
    if (!body.next || body.lines.length === 0) return out;
    after = body.next;
  }
  throw new Error('too many pages');
}

const MARKER = /^sparklogs-marker app=(\S+) stage=(\d+) partition=(\d+) attempt=(\d+) seq=(\d+)\/(\d+)$/;
// What the job prints on stdout and stderr (not through log4j).
const STDOUT = /^sparklogs-stdout app=(\S+) stage=(\d+) partition=(\d+) attempt=(\d+) seq=(\d+)\/(\d+)$/;
const STDERR = /^sparklogs-stderr app=(\S+) stage=(\d+) partition=(\d+) attempt=(\d+) seq=(\d+)\/(\d+)$/;
/** The log file's lines: those of no stream. */
const logOnly = (lines: ApiLine[]) => lines.filter((l) => l.stream === undefined);
const TASK = /^sparklogs-task stage=(\d+) partition=(\d+) attempt=(\d+) executor=(\S+) status=(\w+)/;

interface TaskEnd { key: string; executor: string; status: string }

/** The driver's own account of every task attempt (TaskLines in the job). */
function taskEnds(driver: ApiLine[]): TaskEnd[] {
  return driver.flatMap((l) => {
    const m = TASK.exec(l.message);
    return m ? [{ key: `${m[1]}/${m[2]}/${m[3]}`, executor: m[4]!, status: m[5]! }] : [];
  });
}

/** Markers per task attempt as served for one executor: the seq numbers in the order served. */
function markerGroups(lines: ApiLine[], appId: string): Map<string, { seqs: number[]; of: number }> {
  const groups = new Map<string, { seqs: number[]; of: number }>();
  for (const l of lines) {
    const m = MARKER.exec(l.message);
    if (!m) continue;
    assert.equal(m[1], appId, `a marker of another app: ${l.message}`);
    const key = `${m[2]}/${m[3]}/${m[4]}`;
    const g = groups.get(key) ?? { seqs: [], of: Number(m[6]) };
    g.seqs.push(Number(m[5]));
    groups.set(key, g);
  }
  return groups;
}

interface SparkRun { version: string; image: string; json: boolean }

// Spark 4: structured logging into the JSON file, as deploy/README.md tells a user to switch it on.
const RUNS: SparkRun[] = sparkVersions().map((version) => ({ version, image: `sparklogs/spark:${version}`, json: Number(version.split('.')[0]) >= 4 }));
const JSON_LOG4J2 = '-Dlog4j2.configurationFile=file:/opt/sparklogs/log4j2/log4j2-json.properties';

// The job: 4 tasks of markers (12 s each: executor 1's collector is killed
// meanwhile, K4), a failing task, an OOM-killed executor, an idle
// pause that lets dynamic allocation remove every executor, then new ones.
const PHASES = ['markers:4:60:12000', 'fail:2:10', 'oom:2:20:3072', 'sleep:25', 'markers:3:30:2000'];
const EXECUTOR_MEMORY_MIB = 512;

for (const run of RUNS) {
  test(`Spark ${run.version}${run.json ? ' (structured JSON logging)' : ''} on Kubernetes: every line of every deleted pod served exactly once, in order; pod ends as Kubernetes reported them`, { timeout: 20 * 60_000 }, async (t) => {
    const name = `e2e-spark${run.version.replace(/\./g, '')}-${Date.now().toString(36)}`;
    const artifacts = join(REPO, 'test-artifacts', name);
    mkdirSync(artifacts, { recursive: true });
    const uiLogUrl = `${sparklogs.apiUrl}/spark/{{APP_ID}}/{{EXECUTOR_ID}}`;
    // The driver's event log, on this machine for a history server after the app (hostPath; Spark runs as uid 185).
    const events = join(tmpdir(), `${name}-events`);
    mkdirSync(events, { recursive: true });
    chmodSync(events, 0o777);
    t.after(() => rmSync(events, { recursive: true, force: true }));
    const args = [
      'submit', run.version,
      '--master', `k8s://https://${cluster.nodeIp}:6443`,
      '--deploy-mode', 'cluster',
      '--name', name,
      // The repository's Spark configuration, as deploy/README.md step 6 tells a user to add it.
      '--properties-file', join(REPO, 'deploy/spark/spark-defaults.conf'),
      // Addresses: where the templates, the image and the query API are on this machine.
      '--conf', `spark.kubernetes.driver.podTemplateFile=${join(REPO, 'deploy/spark/driver-pod-template.yaml')}`,
      '--conf', `spark.kubernetes.executor.podTemplateFile=${join(REPO, 'deploy/spark/executor-pod-template.yaml')}`,
      '--conf', `spark.kubernetes.container.image=${run.image}`,
      '--conf', `spark.ui.custom.executor.log.url=${uiLogUrl}`,
      '--conf', `spark.history.custom.executor.log.url=${uiLogUrl}`,
      '--conf', 'spark.eventLog.enabled=true',
      '--conf', 'spark.eventLog.dir=file:///var/spark-events',
      '--conf', 'spark.kubernetes.driver.volumes.hostPath.spark-events.mount.path=/var/spark-events',
      '--conf', 'spark.kubernetes.driver.volumes.hostPath.spark-events.mount.readOnly=false',
      '--conf', `spark.kubernetes.driver.volumes.hostPath.spark-events.options.path=${events}`,
      // The job's own settings: small pods for a 2-core node, executors that come and go.
      '--conf', 'spark.kubernetes.driver.request.cores=100m',
      '--conf', 'spark.kubernetes.executor.request.cores=100m',
      '--conf', 'spark.driver.memory=512m',
      '--conf', `spark.executor.memory=${EXECUTOR_MEMORY_MIB}m`,
      '--conf', 'spark.dynamicAllocation.enabled=true',
      '--conf', 'spark.dynamicAllocation.shuffleTracking.enabled=true',
      '--conf', 'spark.dynamicAllocation.executorIdleTimeout=5s',
      '--conf', 'spark.dynamicAllocation.maxExecutors=2',
      ...(run.json ? ['--conf', 'spark.log.structuredLogging.enabled=true', '--conf', `spark.driver.extraJavaOptions=${JSON_LOG4J2}`, '--conf', `spark.executor.extraJavaOptions=${JSON_LOG4J2}`] : []),
      '--class', 'dev.sparklogs.e2e.SparklogsE2EJob',
      'local:///opt/spark/examples/jars/sparklogs-e2e-job.jar',
      ...PHASES,
    ];
    let submitOut = '';
    const submit = spawn('bash', [join(REPO, 'deploy/local/spark'), ...args], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig }, cwd: REPO });
    let watching = true;
    // A failed assertion must not leave spark-submit or the pod poller running (the test process would never end).
    t.after(() => {
      watching = false;
      if (submit.exitCode === null) submit.kill('SIGTERM');
    });
    submit.stdout.on('data', (d) => (submitOut += d));
    submit.stderr.on('data', (d) => (submitOut += d));
    const submitted = new Promise<number>((res) => submit.on('close', (code) => res(code ?? -1)));

    // The driver pod, with the app id Spark gave it.
    const driverPod = await waitFor('the driver pod', async () => {
      const pods = await kubectlJson<{ items: { metadata: { name: string; labels: Record<string, string> }; status: { podIP?: string; phase: string } }[] }>(cluster, ['-n', 'spark-jobs', 'get', 'pods', '-l', `spark-app-name=${name},spark-role=driver`]);
      return pods.items.find((p) => p.status.podIP && p.status.phase === 'Running');
    }, 5 * 60_000);
    const appId = driverPod.metadata.labels['spark-app-selector']!;

    // Every pod of the app as Kubernetes names it, seen while it ran.
    const pods = new Map<string, { pod: string; node?: string }>();
    const watcher = (async () => {
      while (watching) {
        try {
          const list = await kubectlJson<{ items: { metadata: { name: string; labels: Record<string, string> }; spec: { nodeName?: string } }[] }>(cluster, ['-n', 'spark-jobs', 'get', 'pods', '-l', `spark-app-selector=${appId}`]);
          for (const p of list.items) pods.set(p.metadata.labels['spark-exec-id'] ?? 'driver', { pod: p.metadata.name, node: p.spec.nodeName });
        } catch { /* the API server answers the next time */ }
        await new Promise((res) => setTimeout(res, 1000));
      }
    })();

    // K4: executor 1's collector is killed while Spark writes its markers; the kubelet restarts the sidecar,
    // which resumes from its checkpoint in the pod's emptyDir.
    const killed = (async () => {
      const pod = await waitFor('executor 1 running', async () => {
        const list = await kubectlJson<{ items: { metadata: { name: string }; status: { phase: string } }[] }>(cluster, ['-n', 'spark-jobs', 'get', 'pods', '-l', `spark-app-selector=${appId},spark-exec-id=1`]);
        return list.items.find((p) => p.status.phase === 'Running')?.metadata.name;
      }, 5 * 60_000, 500);
      // Its JVM starts and registers in about 10 s, then writes markers for about 24 s.
      await new Promise((res) => setTimeout(res, 15_000));
      await killContainer(cluster, 'spark-jobs', pod, 'sparklogs-collector');
      return await waitFor('the collector sidecar restarted', async () => {
        const p = await kubectlJson<{ status: { initContainerStatuses?: { name: string; restartCount: number; ready: boolean }[] } }>(cluster, ['-n', 'spark-jobs', 'get', 'pod', pod]);
        const c = p.status.initContainerStatuses?.find((x) => x.name === 'sparklogs-collector');
        return c && c.restartCount >= 1 ? c.restartCount : undefined;
      }, 2 * 60_000, 500);
    })();
    killed.catch(() => undefined);

    // While the app runs: the Spark UI's REST API links every executor to sparklogs.
    const ui = `http://${driverPod.status.podIP}:4040/api/v1/applications/${appId}/executors`;
    const uiExecutors = await waitFor('executors in the Spark UI', async () => {
      const r = await fetch(ui);
      if (!r.ok) return undefined;
      const list = (await r.json()) as { id: string; executorLogs: Record<string, string> }[];
      return list.some((e) => e.id !== 'driver') ? list : undefined;
    }, 5 * 60_000, 2000);
    writeFileSync(join(artifacts, 'spark-ui-executors.json'), JSON.stringify(uiExecutors, null, 2));
    // (Spark 3.5 fills the link from the attributes the executor pod template sets; found on the real cluster.)
    for (const e of uiExecutors.filter((x) => x.id !== 'driver')) {
      const links = Object.values(e.executorLogs);
      const want = uiLogUrl.replace('{{APP_ID}}', appId).replace('{{EXECUTOR_ID}}', e.id);
      assert.ok(links.includes(want), `Spark UI executor ${e.id}: log links ${JSON.stringify(e.executorLogs)}, expected ${want}`);
      // The link opens the page on that executor's lines, public like the page itself.
      const r = await fetch(want, { redirect: 'manual' });
      assert.equal(r.status, 302, `${want}: ${r.status}`);
      assert.equal(r.headers.get('location'), `/#/apps/${encodeURIComponent(appId)}/logs?executor=${encodeURIComponent(e.id)}`);
    }

    assert.ok((await killed) >= 1, 'executor 1\'s collector was killed and restarted by the kubelet');
    const code = await submitted;
    writeFileSync(join(artifacts, 'spark-submit.log'), submitOut);
    if (code !== 0) assert.fail(`spark-submit exited ${code}:\n${submitOut.slice(-3000)}\n${await describeNamespace(cluster, 'spark-jobs')}`);
    const phase = (await kubectl(cluster, ['-n', 'spark-jobs', 'get', 'pod', driverPod.metadata.name, '-o', 'jsonpath={.status.phase}'])).trim();
    assert.equal(phase, 'Succeeded', `driver pod ${driverPod.metadata.name}`);

    // The app has ended: its completed driver pod is deleted by hand (default grace), as users do.
    await kubectl(cluster, ['-n', 'spark-jobs', 'delete', 'pod', driverPod.metadata.name, '--wait=true']);
    await waitFor('every pod of the app gone', async () => {
      const left = await kubectl(cluster, ['-n', 'spark-jobs', 'get', 'pods', '-l', `spark-app-selector=${appId}`, '-o', 'name']);
      return left.trim() === '' ? true : undefined;
    }, 5 * 60_000);
    watching = false;
    await watcher;

    // Served once the pipeline has caught up: the driver's last line, and every attempt's markers.
    const driverDone = await waitFor('the driver\'s last line served', async () => {
      const lines = logOnly(await executorLines(appId, 'driver'));
      return lines.some((l) => l.message.startsWith('sparklogs-job done')) ? lines : undefined;
    }, 3 * 60_000, 2000);
    const ends = taskEnds(driverDone);
    writeFileSync(join(artifacts, 'task-ends.json'), JSON.stringify(ends, null, 2));
    const executors = [...new Set(ends.map((e) => e.executor))];
    assert.ok(executors.length >= 3, `dynamic allocation brought new executors after the idle pause: ${executors.join(', ')}`);
    const served = new Map<string, ApiLine[]>();
    await waitFor('every task attempt\'s markers served', async () => {
      for (const id of executors) served.set(id, logOnly(await executorLines(appId, id)));
      return ends.every((e) => markerGroups(served.get(e.executor)!, appId).has(e.key)) ? true : undefined;
    }, 3 * 60_000, 3000);
    // A little longer, so that a line arriving late (a duplicate, a stray) would be seen.
    await new Promise((res) => setTimeout(res, 5000));
    const wholeOf = new Map<string, ApiLine[]>();
    for (const id of [...executors, 'driver']) {
      wholeOf.set(id, await executorLines(appId, id));
      served.set(id, logOnly(wholeOf.get(id)!));
    }
    writeFileSync(join(artifacts, 'served.json'), JSON.stringify(Object.fromEntries(wholeOf), null, 1));

    // Exactly once, in order, on the executor the driver says ran the attempt.
    const attemptsOf = new Map<string, Set<string>>();
    for (const e of ends) {
      if (!attemptsOf.has(e.executor)) attemptsOf.set(e.executor, new Set());
      attemptsOf.get(e.executor)!.add(e.key);
    }
    let markers = 0;
    for (const id of executors) {
      const groups = markerGroups(served.get(id)!, appId);
      for (const [key, g] of groups) {
        assert.ok(attemptsOf.get(id)?.has(key), `executor ${id}: markers of attempt ${key}, which the driver says ran elsewhere`);
        assert.deepEqual(g.seqs, Array.from({ length: g.of }, (_, i) => i + 1), `executor ${id}, attempt ${key}: markers served in this order`);
        markers += g.seqs.length;
      }
      for (const key of attemptsOf.get(id) ?? []) assert.ok(groups.has(key), `executor ${id}: no markers of attempt ${key}`);
    }
    const expected = ends.reduce((s, e) => {
      const stagePhase = PHASES.filter((p) => !p.startsWith('sleep'))[Number(e.key.split('/')[0])]!;
      return s + Number(stagePhase.split(':')[2]);
    }, 0);
    assert.equal(markers, expected, 'every marker of every attempt');

    // stdout and stderr: what the job printed, as streams of their own, once and in order, on the
    // executor that ran the attempt (deleted pods included), and no log line copied into them.
    const printedOn = async (id: string, stream: 'stdout' | 'stderr') => {
      const lines = await executorLines(appId, id, stream);
      assert.ok(lines.every((l) => l.stream === stream), `executor ${id}: --stream ${stream} gives ${stream} only`);
      assert.deepEqual(lines.filter((l) => /sparklogs-(marker|task|phase|job) /.test(l.message)).map((l) => l.message.slice(0, 160)), [], `executor ${id}: log lines in its ${stream}`);
      return lines;
    };
    const byAttempt = (lines: ApiLine[], re: RegExp) => {
      const out = new Map<string, number[]>();
      for (const l of lines) {
        const m = re.exec(l.message);
        if (!m) continue;
        assert.equal(m[1], appId, `a line of another app: ${l.message}`);
        const key = `${m[2]}/${m[3]}/${m[4]}`;
        out.set(key, [...(out.get(key) ?? []), Number(m[5])]);
      }
      return out;
    };
    let printedLines = 0;
    for (const id of executors) {
      const out = byAttempt(await printedOn(id, 'stdout'), STDOUT);
      const err = byAttempt(await printedOn(id, 'stderr'), STDERR);
      for (const key of attemptsOf.get(id) ?? []) {
        const of = markerGroups(served.get(id)!, appId).get(key)!.of;
        assert.deepEqual(out.get(key) ?? [], Array.from({ length: Math.floor(of / 10) }, (_, i) => (i + 1) * 10), `executor ${id}, attempt ${key}: stdout lines in order`);
        printedLines += out.get(key)?.length ?? 0;
      }
      assert.deepEqual([...out.keys()].filter((k) => !attemptsOf.get(id)?.has(k)), [], `executor ${id}: stdout of attempts that ran elsewhere`);
      // Each attempt's last line on stderr: every succeeded one has it (the failed ones threw, or were killed, before it).
      for (const e of ends) if (e.executor === id && e.status === 'SUCCESS') assert.ok(err.has(e.key), `executor ${id}: the stderr line of attempt ${e.key}`);
      for (const [key, seqs] of err) {
        assert.ok(attemptsOf.get(id)?.has(key), `executor ${id}: stderr of attempt ${key}, which ran elsewhere`);
        assert.equal(seqs.length, 1, `executor ${id}, attempt ${key}: its stderr line once`);
      }
    }
    assert.ok(printedLines >= 30, `stdout lines served: ${printedLines}`);
    const driverOut = await printedOn('driver', 'stdout');
    assert.deepEqual(driverOut.filter((l) => l.message.startsWith('sparklogs-stdout driver ')).map((l) => l.message), PHASES.map((_, i) => `sparklogs-stdout driver app=${appId} phase=${i}`), 'the driver\'s stdout, in order');
    // printStackTrace on stderr: one event, frames and causes joined to it.
    const traces = (await Promise.all(executors.map((id) => executorLines(appId, id, 'stderr')))).flat().filter((l) => l.message.startsWith('java.lang.IllegalStateException: sparklogs-e2e injected task failure'));
    assert.equal(traces.length, 1, `the printed stack trace, one stderr event: ${traces.map((l) => l.message.slice(0, 200)).join(' | ')}`);
    assert.match(traces[0]!.message, /\n\tat dev\.sparklogs\.e2e\.PhaseTask/);
    assert.match(traces[0]!.message, /\nCaused by: java\.io\.IOException: sparklogs-e2e injected cause/);
    // The three together are the executor's whole view.
    for (const id of executors) {
      const [out, err] = [await executorLines(appId, id, 'stdout'), await executorLines(appId, id, 'stderr')];
      assert.equal(wholeOf.get(id)!.length, served.get(id)!.length + out.length + err.length, `executor ${id}: its log, stderr and stdout make up its lines`);
    }

    // Spark's own lines keep their level and logger.
    const all = [...served.values()].flat();
    assert.ok(all.some((l) => l.level === 'INFO' && l.logger === 'org.apache.spark.executor.Executor' && /^Running task /.test(l.message)), 'Spark\'s executor lines with level and logger');
    assert.ok(all.every((l) => l.level), 'every event has a level');
    if (run.json) {
      // Every JSON object was read as one event: none is left as text, none joined to another.
      const raw = all.filter((l) => l.message.includes('{"ts":'));
      assert.deepEqual(raw.map((l) => l.message.slice(0, 200)), [], 'JSON objects served as text');
      assert.ok(all.every((l) => l.logger && l.thread), 'every JSON event has its logger and thread');
      // Spark's context: each marker names the task that wrote it.
      for (const id of executors) {
        for (const l of served.get(id)!) {
          const m = MARKER.exec(l.message);
          if (m) assert.match(l.mdc?.task_name ?? '', new RegExp(`^task ${m[3]}\\.${m[4]} in stage ${m[2]}\\.`), `executor ${id}: the context of ${l.message}`);
        }
      }
    }

    // The failing task: one event, its exception named, the causes inside it.
    const failure = all.filter((l) => l.message.includes('sparklogs-e2e injected task failure') && l.level === 'ERROR' && l.logger === 'org.apache.spark.executor.Executor');
    assert.equal(failure.length, 1, `the injected failure, one event: ${failure.map((l) => l.message.slice(0, 200)).join(' | ')}`);
    assert.equal(failure[0]!.exception, 'java.lang.IllegalStateException');
    assert.match(failure[0]!.message, /\n\tat dev\.sparklogs\.e2e\.PhaseTask/);
    assert.match(failure[0]!.message, /\nCaused by: /);

    // The OOM-killed executor: its end from the pod watcher, and the driver's "Lost executor" line.
    const app = await api<{ executors: ApiExecutor[] }>(`/api/v1/apps/${appId}`);
    writeFileSync(join(artifacts, 'app.json'), JSON.stringify(app, null, 2));
    const byId = new Map(app.executors.map((e) => [e.executorId, e]));
    const oom = app.executors.filter((e) => e.lifecycle?.reason === 'OOMKilled');
    assert.equal(oom.length, 1, `one executor OOMKilled: ${JSON.stringify(app.executors.map((e) => [e.executorId, e.lifecycle]))}`);
    assert.equal(oom[0]!.lifecycle!.exitCode, 137);
    assert.equal(oom[0]!.status, 'failed');
    const lost = served.get('driver')!.filter((l) => new RegExp(`Lost executor ${oom[0]!.executorId}\\b`).test(l.message));
    assert.ok(lost.length > 0, 'the driver\'s "Lost executor" line for it');
    if (run.json) assert.ok(lost.some((l) => l.mdc?.executor_id === oom[0]!.executorId), `"Lost executor" with its context: ${JSON.stringify(lost.map((l) => l.mdc))}`);
    assert.ok(ends.some((e) => e.executor === oom[0]!.executorId && e.status === 'FAILED'), 'the driver saw its task fail');
    // Every other executor was removed by the driver (idle, or at the app's end); the driver completed.
    const driver = byId.get('driver')!;
    assert.equal(driver.status, 'succeeded');
    assert.equal(driver.lifecycle?.reason, 'Completed');
    // (Spark 4 stops them before deleting their pods: exit 0, Completed; Spark 3.5 deletes them: SIGTERM, Deleted.)
    for (const e of app.executors.filter((x) => x.role === 'executor' && x !== oom[0])) {
      assert.equal(e.status, 'removed', `executor ${e.executorId}: ${JSON.stringify(e.lifecycle)}`);
      assert.ok(['Deleted', 'Completed'].includes(e.lifecycle?.reason ?? ''), `executor ${e.executorId}: ${JSON.stringify(e.lifecycle)}`);
    }
    // Pod and node names as Kubernetes gave them.
    for (const [id, p] of pods) {
      const e = byId.get(id);
      assert.ok(e, `executor ${id} (pod ${p.pod}) is served`);
      assert.equal(e.pod, p.pod, `executor ${id}: pod`);
      assert.equal(e.node, p.node, `executor ${id}: node`);
    }
    for (const id of executors) assert.ok(pods.has(id), `executor ${id} was seen as a pod`);

    // The CLI says the same: `sparklogs logs <app> -e <id>` prints every line, `executors` the OOM kill.
    const cli = (a: string[]) => exec(process.execPath, [join(REPO, 'dist/query-api/cli/main.js'), ...a], { env: { ...process.env, SPARKLOGS_URL: sparklogs.apiUrl, SPARKLOGS_TOKEN: sparklogs.token, NO_COLOR: '1' }, maxBuffer: 64 << 20 });
    const oomId = oom[0]!.executorId;
    const printed = (await cli(['logs', appId, '-e', oomId])).stdout;
    const printedMarkers = printed.split('\n').filter((l) => l.includes('sparklogs-marker')).length;
    assert.equal(printedMarkers, [...markerGroups(served.get(oomId)!, appId).values()].reduce((s, g) => s + g.seqs.length, 0), 'sparklogs logs -e prints every marker');
    const table = (await cli(['executors', appId])).stdout;
    writeFileSync(join(artifacts, 'executors.txt'), table);
    assert.match(table, new RegExp(`^${oomId}\\s+executor\\s+\\S+\\s.*failed \\(OOMKilled, exit 137`, 'm'));
    const whole = (await cli(['logs', appId])).stdout;
    assert.equal(whole.split('\n').filter((l) => l.includes('sparklogs-marker')).length, markers, 'sparklogs logs <app> prints every marker of every executor');

    // After the app, with every pod gone: a history server on the app's event log, configured with the
    // history keys of the repository's spark-defaults.conf (the log URL's host is an address), links the same.
    const defaults = readFileSync(join(REPO, 'deploy/spark/spark-defaults.conf'), 'utf8');
    const historyKeys = defaults.split('\n').map((l) => l.trim().split(/\s+/)).filter(([k]) => k?.startsWith('spark.history.'));
    assert.ok(historyKeys.some(([k]) => k === 'spark.history.custom.executor.log.url'), 'spark-defaults.conf documents the history link');
    const historySettings = historyKeys.map(([k, v]) => `${k}=${k === 'spark.history.custom.executor.log.url' ? uiLogUrl : v}`);
    const port = 18080;
    const spark = (a: string[]) => exec('bash', [join(REPO, 'deploy/local/spark'), 'history', run.version, ...a], { cwd: REPO, maxBuffer: 16 << 20 });
    t.after(() => spark(['stop', String(port)]).catch(() => undefined));
    const history = (await spark(['start', events, String(port), ...historySettings])).stdout.trim().split('\n').pop()!;
    const historyExecutors = await waitFor('the app in the history server', async () => {
      const r = await fetch(`${history}/api/v1/applications/${appId}/allexecutors`);
      return r.ok ? ((await r.json()) as { id: string; executorLogs: Record<string, string> }[]) : undefined;
    }, 3 * 60_000, 2000);
    writeFileSync(join(artifacts, 'history-executors.json'), JSON.stringify(historyExecutors, null, 2));
    assert.deepEqual(new Set(historyExecutors.map((e) => e.id)), new Set(['driver', ...executors]), 'the history server knows every executor');
    for (const e of historyExecutors.filter((x) => x.id !== 'driver')) {
      const want = uiLogUrl.replace('{{APP_ID}}', appId).replace('{{EXECUTOR_ID}}', e.id);
      assert.ok(Object.values(e.executorLogs).includes(want), `history server, executor ${e.id}: ${JSON.stringify(e.executorLogs)}, expected ${want}`);
      const r = await fetch(want, { redirect: 'manual' });
      assert.equal(r.headers.get('location'), `/#/apps/${encodeURIComponent(appId)}/logs?executor=${encodeURIComponent(e.id)}`);
      // What the page behind the link shows: every line of that executor, its pod long gone.
      assert.equal((await executorLines(appId, e.id)).length, wholeOf.get(e.id)!.length, `executor ${e.id}: lines behind the history server's link`);
    }
    await spark(['stop', String(port)]);
  });
}
