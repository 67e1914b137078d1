// CPU of the query API per page, two builds side by side (not part of npm
// test nor of the bench's parts): each build's dist/query-api/server.js runs
// on the same store, and blocks of requests alternate between them; the CPU
// of each process (utime + stime from /proc) per request is the figure, far
// steadier on a loaded machine than latency. For a before/after of a change:
// a copy of the old commit (git archive) built with tsc beside the tree.
//
//   node --import tsx test/bench/query-api-cpu.ts OLD_ROOT NEW_ROOT [--es-url URL] [--prefix bench-q1a] [--blocks 6] [--requests 40] [--path tail|word]
//
// The store is the query part's (npm run bench -- --only query --query-apps 1
// builds bench-q1a); `tail` reads the last 1,000 lines of its executors in
// turn, `word` searches "spilling" across apps.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { appIdOf } from './query-store.js';
import { freePort } from './context.js';
import { waitFor } from './proc.js';

const a = parseArgs({
  allowPositionals: true,
  options: { 'es-url': { type: 'string', default: 'http://127.0.0.1:19200' }, prefix: { type: 'string', default: 'bench-q1a' }, blocks: { type: 'string', default: '6' }, requests: { type: 'string', default: '40' }, path: { type: 'string', default: 'tail' } },
});
if (a.positionals.length !== 2 || !['tail', 'word'].includes(a.values.path)) {
  process.stderr.write('usage: query-api-cpu.ts OLD_ROOT NEW_ROOT [--es-url URL] [--prefix P] [--blocks N] [--requests N] [--path tail|word]\n');
  process.exit(2);
}
const blocks = Number(a.values.blocks);
const n = Number(a.values.requests);
const app = appIdOf(0);

const sides: { root: string; port: number; proc?: ChildProcess; cpu: number[] }[] = [];
for (const root of a.positionals) sides.push({ root, port: await freePort(), cpu: [] });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (url: string) =>
  new Promise<void>((resolve, reject) => {
    http.get(url, { agent, timeout: 60_000 }, (r) => {
      r.resume();
      r.on('end', () => (r.statusCode === 200 ? resolve() : reject(new Error(`GET ${url}: HTTP ${r.statusCode}`))));
    }).on('error', reject);
  });
const url = (port: number, i: number) => (a.values.path === 'tail' ? `http://127.0.0.1:${port}/api/v1/apps/${app}/executors/${(i % 10) + 1}/logs?tail=1000` : `http://127.0.0.1:${port}/api/v1/search?q=spilling`);
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
};
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

try {
  for (const s of sides) {
    s.proc = spawn(process.execPath, [join(s.root, 'dist/query-api/server.js')], {
      env: { ...process.env, SPARKLOGS_ES_URL: a.values['es-url'], SPARKLOGS_PREFIX: a.values.prefix, SPARKLOGS_HOST: '127.0.0.1', SPARKLOGS_PORT: String(s.port), SPARKLOGS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (!(await waitFor(async () => (await fetch(`http://127.0.0.1:${s.port}/healthz`).catch(() => undefined))?.ok === true, 120_000, 250))) throw new Error(`${s.root}: the query API did not start`);
  }
  for (const s of sides) for (let i = 0; i < 20; i++) await get(url(s.port, i)); // compiled and warm before counting
  for (let b = 0; b < blocks; b++) {
    for (const s of b % 2 ? [...sides].reverse() : sides) {
      const c0 = cpuMs(s.proc!.pid!);
      for (let i = 0; i < n; i++) await get(url(s.port, i));
      s.cpu.push((cpuMs(s.proc!.pid!) - c0) / n);
    }
  }
  for (const s of sides) process.stdout.write(`${a.values.path} ${s.root}: CPU ms per request by block ${s.cpu.map((x) => x.toFixed(1)).join(', ')}; median ${median(s.cpu).toFixed(1)}\n`);
  process.stdout.write(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
} finally {
  agent.destroy();
  for (const s of sides) s.proc?.kill('SIGTERM');
}
