// Every Spark configuration key the repository documents (spark-defaults.conf
// and the spark-submit line of deploy/README.md) is one Spark defines, in
// each pinned Spark version, asked of Spark's own config registry. (Found
// this way: spark.history.custom.executor.log.url.applyIncompleteApp, a key
// no Spark reads; the real one ends in ...Application.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO, sparkVersions } from './cluster.js';

const exec = promisify(execFile);

/** Keys for every Spark; and under "Spark 4 structured logging" in deploy/README.md, keys for Spark 4 only. */
function documentedKeys(major: number): string[] {
  const conf = readFileSync(join(REPO, 'deploy/spark/spark-defaults.conf'), 'utf8').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/)[0]!);
  const text = readFileSync(join(REPO, 'deploy/README.md'), 'utf8');
  const spark4 = /\*\*Spark 4 structured logging\.\*\*[\s\S]*?(?=\n\*\*\d+\. )/.exec(text)?.[0] ?? '';
  assert.ok(spark4.includes('spark.log.structuredLogging.enabled'), 'deploy/README.md has its Spark 4 structured logging part');
  const keysIn = (t: string) => [...t.matchAll(/--conf '?(spark\.[A-Za-z0-9.-]+)=/g)].map((m) => m[1]!);
  return [...new Set([...conf, ...keysIn(text.replace(spark4, '')), ...(major >= 4 ? keysIn(spark4) : [])])].sort();
}

// A pod's volumes are read by prefix (spark.kubernetes.<role>.volumes.<type>.<name>.<field>,
// KubernetesVolumeUtils in Spark 3.5 and 4), not registered one by one: their shape is checked instead.
const VOLUME_KEY = /^spark\.kubernetes\.(driver|executor)\.volumes\.(hostPath|emptyDir|nfs|persistentVolumeClaim)\.[a-z0-9]([-a-z0-9]*[a-z0-9])?\.(mount\.(path|readOnly|subPath|subPathExpr)|options\.(path|type|claimName|storageClass|medium|sizeLimit|server))$/;

for (const version of sparkVersions()) {
  test(`Spark ${version} defines every Spark key the repository documents`, { timeout: 5 * 60_000 }, async () => {
    const documented = documentedKeys(Number(version.split('.')[0]));
    const volumes = documented.filter((k) => /^spark\.kubernetes\.(driver|executor)\.volumes\./.test(k));
    assert.deepEqual(volumes.filter((k) => !VOLUME_KEY.test(k)), [], 'volume keys Spark does not read');
    const keys = documented.filter((k) => !volumes.includes(k));
    assert.ok(keys.includes('spark.ui.custom.executor.log.url') && keys.length > 10, `keys found: ${keys.join(', ')}`);
    const home = (await exec('bash', [join(REPO, 'deploy/local/spark'), 'home', version], { cwd: REPO })).stdout.trim().split('\n').pop()!;
    const { stdout } = await exec('java', ['-cp', `${home}/jars/*`, join(REPO, 'test/kube/spark-conf/SparkConfKeys.java'), ...keys], { maxBuffer: 8 << 20 });
    const unknown = stdout.split('\n').filter((l) => l.endsWith('\tfalse')).map((l) => l.split('\t')[0]);
    assert.deepEqual(unknown, [], `keys Spark ${version} does not define`);
    assert.equal(stdout.split('\n').filter((l) => l.endsWith('\ttrue')).length, keys.length);
  });
}
