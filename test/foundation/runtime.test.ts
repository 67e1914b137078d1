// The runtime: every process the suite starts runs on the Node.js version
// pinned in deploy/local/versions.env (NODE_VERSION), which test/run.sh puts
// first on PATH (deploy/local/node); the images are built on the same version,
// and package.json's engines admit it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { cleanup, metric, startAggregator, stopAggregator } from '../aggregator/harness.js';

const REPO = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const pinned = /^NODE_VERSION=(\S+)$/m.exec(readFileSync(join(REPO, 'deploy/local/versions.env'), 'utf8'))?.[1];
// deploy/local/node skips the pin where the registry has no build package (other OS or CPU).
const hasBuild = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');

const exeVersion = (pid: number) => execFileSync(readlinkSync(`/proc/${pid}/exe`), ['--version'], { encoding: 'utf8' }).trim();

test('one pinned Node.js: versions.env names it, package.json admits it, the images build on it, README and the manifests say which', () => {
  assert.match(pinned ?? '', /^\d+\.\d+\.\d+$/, 'deploy/local/versions.env: NODE_VERSION=<major.minor.patch>');
  const major = Number(pinned!.split('.')[0]);
  const engines = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  const min = /^>=(\d+)/.exec(engines);
  assert.ok(min && Number(min[1]) <= major, `package.json engines.node (${engines}) admits ${pinned}`);
  for (const doc of ['README.md', 'deploy/kubernetes/base/kustomization.yaml']) {
    assert.ok(readFileSync(join(REPO, doc), 'utf8').replace(/\s+/g, ' ').includes(`Node.js ${pinned}`), `${doc} names the runtime, Node.js ${pinned}`);
  }
  for (const image of ['collector', 'aggregator', 'query-api']) {
    const dockerfile = readFileSync(join(REPO, `deploy/images/${image}.Dockerfile`), 'utf8');
    assert.match(dockerfile, new RegExp(`^ARG NODE_IMAGE=node:${major}-bookworm-slim$`, 'm'), `${image}.Dockerfile's default base is Node.js ${major}`);
  }
});

test('the suite and the processes it starts run on the pinned Node.js', { skip: hasBuild ? false : 'no Node.js build package for this platform: the pin is skipped', timeout: 300_000 }, async () => {
  assert.equal(process.version, `v${pinned}`, 'the test runner (test/run.sh puts deploy/local/node bin-dir first on PATH)');
  assert.equal(execFileSync('node', ['--version'], { encoding: 'utf8' }).trim(), `v${pinned}`, '`node` on PATH: what npm scripts, the demo and the stack scripts run');

  const { brokers, esUrl } = testStack();
  const n = uniqueNames('runtime');
  after(() => cleanup(esUrl, n));
  const a = startAggregator(n, brokers, esUrl, {}, ['run']);
  try {
    await a.waitFor('metricsListening', 120_000);
    assert.equal(exeVersion(a.proc.pid!), `v${pinned}`, 'the aggregator process');
    // What the process itself reports, as a platform team's dashboards see it.
    assert.equal(await metric(a, 'sparklogs_aggregator_nodejs_version_info', `version="v${pinned}"`), 1);
  } finally {
    await stopAggregator(a);
  }
});
