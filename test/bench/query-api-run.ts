// The query API binary (dist/query-api/server.js) on a free port, for the
// freshness and query benchmarks.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, freePort } from './context.js';
import { startMeasured, waitFor, type Measured } from './proc.js';
import { profileArgs } from './profile.js';

export const QUERY_API = join(DIST, 'query-api/server.js');

export async function startQueryApi(esUrl: string, prefix: string): Promise<{ p: Measured; url: string; stop(): Promise<void> }> {
  if (!existsSync(QUERY_API)) throw new Error(`${QUERY_API} is not built (npm run build)`);
  const port = await freePort();
  const p = await startMeasured(process.execPath, [...profileArgs(), QUERY_API], {
    ...process.env, SPARKLOGS_ES_URL: esUrl, SPARKLOGS_PREFIX: prefix, SPARKLOGS_HOST: '127.0.0.1', SPARKLOGS_PORT: String(port), SPARKLOGS_LOG_LEVEL: 'warn',
  });
  const url = `http://127.0.0.1:${port}`;
  const up = await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true, 30_000, 100);
  const stop = async () => {
    p.signal('SIGTERM');
    await p.exited(15_000);
  };
  if (!up) {
    await stop();
    throw new Error(`the query API did not answer on ${url}: ${p.stderr().slice(-300)}`);
  }
  return { p, url, stop };
}
