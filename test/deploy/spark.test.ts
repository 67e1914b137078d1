// The Spark integration holds together: spark-defaults.conf names the pod
// templates and the log4j2 file the templates mount, log4j2 writes where the
// collector reads, identity comes from the labels Spark sets, the Spark UI's
// log links reach a route the query API serves, and the README's
// spark-submit line carries all of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEPLOY, loadYaml, rel } from './manifests.js';
import type { K8sObject } from './k8s-schema.js';
import { applied, collectorReads, find, loadAs, mountOf, resolveEnv, serviceOf, servesPath, SERVICES, type Container, type PodSpec } from './pods.js';
import { SPARK, jobsNamespace, properties, readmeSubmitLine, sparkDefaults } from './spark-conf.js';

const conf = sparkDefaults();
const ns = jobsNamespace();
const objects = applied();
const log4j2File = join(SPARK, 'log4j2.properties');
const log4j2 = properties(log4j2File);

const ROLES = ['driver', 'executor'] as const;

function template(role: (typeof ROLES)[number]) {
  const file = conf.get(`spark.kubernetes.${role}.podTemplateFile`);
  assert.ok(file, `spark.kubernetes.${role}.podTemplateFile`);
  const local = join(SPARK, basename(file));
  assert.ok(existsSync(local), `${basename(file)} is not in deploy/spark`);
  const spec = ((loadYaml(local)[0] as K8sObject).spec ?? {}) as unknown as PodSpec;
  const mainName = conf.get(`spark.kubernetes.${role}.podTemplateContainerName`);
  const main = spec.containers.find((c) => c.name === mainName);
  assert.ok(main, `${role}: no container ${mainName}`);
  const collector = spec.initContainers?.find((c) => serviceOf(c)?.program === 'sparklogs-collector');
  assert.ok(collector, `${role}: no collector sidecar`);
  return { spec, main, collector };
}

const fieldOf = (c: Container, name: string) => (c.env?.find((e) => e.name === name)?.valueFrom as { fieldRef?: { fieldPath: string } } | undefined)?.fieldRef?.fieldPath;
const valueOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;

test('identity comes from the labels Spark sets and the pod itself (Downward API)', () => {
  for (const role of ROLES) {
    const { main, collector } = template(role);
    assert.equal(valueOf(collector, 'SPARKLOGS_APP_TYPE'), 'spark');
    assert.equal(fieldOf(collector, 'SPARKLOGS_APP_ID'), "metadata.labels['spark-app-selector']");
    assert.equal(fieldOf(collector, 'SPARKLOGS_ROLE'), "metadata.labels['spark-role']");
    assert.equal(fieldOf(collector, 'SPARKLOGS_APP_NAME'), "metadata.labels['spark-app-name']");
    assert.equal(fieldOf(collector, 'SPARKLOGS_POD_NAME'), 'metadata.name');
    assert.equal(fieldOf(collector, 'SPARKLOGS_POD_UID'), 'metadata.uid');
    assert.equal(fieldOf(collector, 'SPARKLOGS_NAMESPACE'), 'metadata.namespace');
    assert.equal(fieldOf(collector, 'SPARKLOGS_NODE_NAME'), 'spec.nodeName');
    assert.equal(valueOf(collector, 'SPARKLOGS_CONTAINER'), main.name);
  }
  assert.equal(fieldOf(template('executor').collector, 'SPARKLOGS_EXECUTOR_ID'), "metadata.labels['spark-exec-id']");
  assert.equal(valueOf(template('driver').collector, 'SPARKLOGS_EXECUTOR_ID'), 'driver');
});

test('log4j2 writes to the console and to a rolling file in the directory the collector reads', () => {
  const appenders = [...log4j2].filter(([k]) => /^appender\.[^.]+\.type$/.test(k)).map(([k, v]) => ({ id: k.split('.')[1]!, type: v }));
  // The console: the container's stderr by path (the image's entrypoint may point it at its own stderr, fd 4).
  assert.ok(appenders.some((a) => a.type === 'File' && log4j2.get(`appender.${a.id}.fileName`) === '${env:SPARKLOGS_CONSOLE:-/dev/stderr}'), 'console appender (kubectl logs keeps working)');
  const files = appenders.filter((a) => a.type === 'RollingFile');
  assert.equal(files.length, 1);
  const id = files[0]!.id;
  const fileName = log4j2.get(`appender.${id}.fileName`)!;
  const rolled = log4j2.get(`appender.${id}.filePattern`)!.replace('%i', '1');
  assert.ok([...log4j2].some(([k, v]) => /^rootLogger\.appenderRef\.[^.]+\.ref$/.test(k) && v === log4j2.get(`appender.${id}.name`)), 'root logger writes the file');
  for (const role of ROLES) {
    const { spec, main, collector } = template(role);
    const writes = mountOf(main, dirname(fileName));
    assert.ok(writes && !writes.readOnly, `${role}: ${main.name} has no writable mount at ${dirname(fileName)}`);
    const reads = mountOf(collector, dirname(fileName));
    assert.equal(reads?.name, writes.name, `${role}: the collector does not mount ${writes.name} at ${dirname(fileName)}`);
    assert.ok(spec.volumes?.find((v) => v.name === writes.name)?.emptyDir, `${role}: ${writes.name} is an emptyDir`);
    const config = loadAs(SERVICES['sparklogs/collector']!, collector, resolveEnv(collector, ns, objects).env);
    for (const f of [fileName, rolled]) assert.ok(collectorReads(config.paths as string[], f), `${role}: SPARKLOGS_PATHS ${String(config.paths)} misses ${f}`);
    assert.equal(config.format, 'plain');
    // stdout and stderr: the entrypoint copies them into SPARKLOGS_STDIO_DIR; the collector reads them as streams.
    const stdio = main.env?.find((e) => e.name === 'SPARKLOGS_STDIO_DIR')?.value;
    assert.equal(stdio, dirname(fileName), `${role}: ${main.name} copies stdout and stderr into the shared directory`);
    assert.ok(collectorReads((config.stdoutPaths ?? []) as string[], `${stdio}/stdout`), `${role}: SPARKLOGS_STDOUT_PATHS ${String(config.stdoutPaths)} misses ${stdio}/stdout`);
    assert.ok(collectorReads((config.stderrPaths ?? []) as string[], `${stdio}/stderr`), `${role}: SPARKLOGS_STDERR_PATHS ${String(config.stderrPaths)} misses ${stdio}/stderr`);
    assert.ok(!collectorReads(config.paths as string[], `${stdio}/stdout`) && !collectorReads(config.paths as string[], `${stdio}/stderr`), `${role}: SPARKLOGS_PATHS also matches stdout or stderr`);
  }
});

test('the java options select the log4j2 file the pod templates mount from the ConfigMap', () => {
  const cm = find(objects, 'ConfigMap', ns, 'sparklogs-spark-log4j2') as (K8sObject & { data: Record<string, string> }) | undefined;
  for (const role of ROLES) {
    const opts = conf.get(`spark.${role}.extraJavaOptions`) ?? '';
    const path = /-Dlog4j2\.configurationFile=file:(\S+)/.exec(opts)?.[1];
    assert.ok(path, `spark.${role}.extraJavaOptions selects no log4j2 file`);
    const { spec, main } = template(role);
    const m = mountOf(main, dirname(path));
    assert.ok(m, `${role}: ${dirname(path)} not mounted`);
    const name = (spec.volumes?.find((v) => v.name === m.name)?.configMap as { name: string } | undefined)?.name;
    const source = find(objects, 'ConfigMap', ns, name ?? '') as (K8sObject & { data: Record<string, string> }) | undefined;
    assert.ok(source, `${role}: ConfigMap ${ns}/${name} is created by no kustomization`);
    assert.equal(source, cm);
    assert.equal(source.data[basename(path)], readFileSync(log4j2File, 'utf8'));
  }
});

test("every JSON layout deploy/ ships keeps a string whole up to the collector's line limit (log4j's default cuts it at 16,384 characters)", () => {
  // Issue 29: a 100 KB message of Spark 4's structured logging came out as 16,384 characters and "…", silently.
  const limit = Math.max(...ROLES.map((role) => {
    const { collector } = template(role);
    return loadAs(SERVICES['sparklogs/collector']!, collector, resolveEnv(collector, ns, objects).env).maxLineBytes as number;
  }));
  const layouts: string[] = [];
  const files = readdirSync(DEPLOY, { recursive: true, encoding: 'utf8' }).filter((f) => /(?:^|\/)log4j[^/]*\.(?:properties|xml)$/.test(f));
  for (const file of files.map((f) => join(DEPLOY, f))) {
    const found: [where: string, max: string | undefined][] = [];
    if (file.endsWith('.xml')) {
      for (const m of readFileSync(file, 'utf8').matchAll(/<JsonTemplateLayout\b[^>]*>/gi)) found.push([m[0], /\bmaxStringLength="([^"]*)"/.exec(m[0])?.[1]]);
    } else {
      const p = properties(file);
      for (const [k, v] of p) if (/^appender\.[^.]+\.layout\.type$/.test(k) && /^JsonTemplateLayout$/i.test(v)) found.push([k.slice(0, -'.type'.length), p.get(k.replace(/type$/, 'maxStringLength'))]);
    }
    for (const [where, max] of found) {
      assert.ok(Number(max) >= limit, `${rel(file)}: ${where}: maxStringLength ${max ?? 'unset (16384)'} is below the collector's maxLineBytes ${limit}`);
      layouts.push(`${rel(file)}: ${where}`);
    }
  }
  assert.equal(layouts.filter((l) => l.startsWith('deploy/spark/log4j2-json.properties')).length, 2, layouts.join(', '));
});

test('the driver service account exists where Spark runs and may create executor pods', () => {
  const sa = conf.get('spark.kubernetes.authenticate.driver.serviceAccountName')!;
  assert.ok(find(objects, 'ServiceAccount', ns, sa), `${ns}/${sa}`);
  const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata?.namespace === ns && (o as unknown as { subjects: { name: string }[] }).subjects.some((s) => s.name === sa));
  assert.ok(binding);
  const role = find(objects, 'Role', ns, (binding as unknown as { roleRef: { name: string } }).roleRef.name) as unknown as { rules: { resources: string[]; verbs: string[] }[] };
  assert.ok(role.rules.some((r) => r.resources.includes('pods') && r.verbs.includes('create') && r.verbs.includes('delete')));
  const reader = objects.find((o) => o.kind === 'RoleBinding' && o.metadata?.namespace === ns && (o as unknown as { subjects: { name: string }[] }).subjects.some((s) => s.name === 'sparklogs-aggregator'));
  assert.ok(reader, `the aggregator may read pods in ${ns}`);
});

test('the Spark UI and history server log links reach the query API route through its Ingress', () => {
  const ui = conf.get('spark.ui.custom.executor.log.url')!;
  assert.equal(conf.get('spark.history.custom.executor.log.url'), ui);
  const url = new URL(ui.replace('{{APP_ID}}', 'APP').replace('{{EXECUTOR_ID}}', 'EXEC'));
  const route = url.pathname.replace('APP', ':appId').replace('EXEC', ':executorId');
  assert.ok(servesPath(SERVICES['sparklogs/query-api']!, route), `query-api serves no ${route}`);
  const ingress = objects.find((o) => o.kind === 'Ingress' && JSON.stringify(o.spec).includes(`"host":"${url.hostname}"`));
  assert.ok(ingress, `no Ingress for ${url.hostname}`);
});

test("the README's spark-submit line is complete and says what spark-defaults.conf says", () => {
  const line = readmeSubmitLine();
  assert.match(line.options.get('--master') ?? '', /^k8s:\/\/https:\/\//);
  assert.equal(line.options.get('--deploy-mode'), 'cluster');
  assert.ok(line.options.get('--name'));
  assert.ok(line.options.get('--class'));
  assert.match(line.conf.get('spark.kubernetes.container.image') ?? '', /^[a-z0-9./-]+:[\w.-]+$/);
  for (const [k, v] of conf) assert.equal(line.conf.get(k), v, `--conf ${k}`);
  assert.match(line.app[0] ?? '', /^local:\/\/\/.+\.jar$/);
});
