// What the collector's modules pull in at run time: node's bundled undici
// (fetch, WebSocket) is 800 KiB of JavaScript that a sidecar does not use and
// that cost it about 6 MiB of RSS when an ES import of node:http loaded it
// (collector/metrics.ts). Plain node on the built modules, as the binary runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const DIST = new URL('../../dist', import.meta.url).pathname;
const mod = (p: string) => JSON.stringify(pathToFileURL(`${DIST}/${p}`).href);

test('the sidecar\'s modules and a metrics scrape leave undici unloaded', () => {
  const script = `
    for (const m of [${[
      'collector/config.js', 'collector/identity.js', 'collector/collector.js', 'collector/sinks/kafka.js',
      'contract/log.js', 'contract/names.js', 'contract/pattern-layout.js',
    ].map(mod).join(', ')}]) await import(m);
    const { createMetrics, serveMetrics } = await import(${mod('collector/metrics.js')});
    const server = await serveMetrics(createMetrics(() => []), 0);
    const { get } = (await import('node:module')).createRequire(import.meta.url)('node:http');
    const body = await new Promise((resolve, reject) => get({ port: server.address().port, path: '/metrics' }, (res) => {
      let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve(res.statusCode + ' ' + b));
    }).on('error', reject));
    server.close();
    process.stdout.write(JSON.stringify({ body, undici: process.moduleLoadList.filter((x) => /undici/.test(x)) }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { body: string; undici: string[] };
  assert.match(out.body, /^200 [\s\S]*sparklogs_collector_lines_acked_total 0\n/, 'the metrics server answers');
  assert.deepEqual(out.undici, []);
});

test('the check can fail: an ES import of node:http loads undici on this node', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `await import('node:http'); process.stdout.write(String(process.moduleLoadList.some((x) => /undici/.test(x))))`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'true');
});
