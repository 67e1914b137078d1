// The store the query benchmark reads: apps x executors x lines of generated
// Spark events, turned into documents by the aggregator's own transform and
// bulk-loaded. The full store (10 million lines) lives under a fixed prefix on
// the benchmark stack and is reused while its line count is right.
import { names } from '../../contract/names.js';
import type { Batch } from '../../contract/record.js';
import { lineItems } from '../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { prng, sparkEvent } from './generate.js';
import { installTemplates } from './refs/direct-bulk.js';

export interface StoreShape {
  prefix: string;
  apps: number;
  executorsPerApp: number;
  linesPerExecutor: number;
}

export const appIdOf = (a: number) => `spark-bench${String(a).padStart(28, '0')}`;

async function count(esUrl: string, prefix: string): Promise<number> {
  const res = await fetch(`${esUrl}/${prefix}-lines-*/_count`).catch(() => undefined);
  if (!res?.ok) return 0;
  return ((await res.json()) as { count: number }).count;
}

/** Loads the store unless it is already there; returns whether it was (re)built. */
export async function ensureQueryStore(esUrl: string, s: StoreShape, out: (s: string) => void): Promise<boolean> {
  const total = s.apps * s.executorsPerApp * s.linesPerExecutor;
  if ((await count(esUrl, s.prefix)) === total) return false;
  await fetch(`${esUrl}/${s.prefix}-*?expand_wildcards=all`, { method: 'DELETE' });
  await installTemplates(esUrl, s.prefix);
  const n = names(s.prefix);
  const clock = new ZonedClock('UTC');
  const r = prng(17);
  // Lines spread over the last two days, each executor's in the order it wrote them.
  const start = Date.now() - 2 * 86_400_000;
  const step = Math.max(1, Math.floor((2 * 86_400_000 - 60_000) / s.linesPerExecutor));
  let body = '';
  let docs = 0;
  let loaded = 0;
  const t0 = performance.now();
  const send = async (b: string) => {
    const res = await fetch(`${esUrl}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: b, signal: AbortSignal.timeout(300_000) });
    const o = (await res.json()) as { errors?: boolean; items: unknown[] };
    if (!res.ok || o.errors) throw new Error(`loading the query store: _bulk answered ${res.status}${o.errors ? ' with item errors' : ''}`);
    loaded += o.items.length;
  };
  const inFlight = new Set<Promise<void>>();
  const push = async (b: string) => {
    const p = send(b).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 2) await Promise.race(inFlight);
  };
  for (let a = 0; a < s.apps; a++) {
    for (let e = 1; e <= s.executorsPerApp; e++) {
      const executorId = String(e);
      const src = {
        appType: 'spark', appId: appIdOf(a), executorId, role: 'executor', appName: `bench-${a}`, namespace: 'bench',
        pod: `bench-${a}-exec-${e}`, podUid: `${String(a).padStart(8, '0')}-0000-0000-0000-${executorId.padStart(12, '0')}`,
        file: '/var/log/spark/executor.log', fileId: `q${a}-${e}`, fileSeq: 0,
      };
      let off = 0;
      for (let i = 0; i < s.linesPerExecutor; i += 1000) {
        const lines: Batch['lines'] = [];
        for (let j = i; j < Math.min(s.linesPerExecutor, i + 1000); j++) {
          const t = start + j * step;
          const m = sparkEvent(r, t, j).text;
          lines.push({ off, t, m });
          off += m.length + 1;
        }
        for (const it of lineItems({ v: 1, src, lines }, n, clock)) {
          body += `${JSON.stringify({ index: { _index: it.index, _id: it.id } })}\n${JSON.stringify(it.doc)}\n`;
          if (++docs === 5000) {
            await push(body);
            body = '';
            docs = 0;
          }
        }
      }
    }
    if (s.apps >= 10 && (a + 1) % Math.ceil(s.apps / 10) === 0) out(`bench:   query store: ${loaded} of ${total} lines loaded (${Math.round(loaded / ((performance.now() - t0) / 1000))} lines/s)\n`);
  }
  if (body) await push(body);
  await Promise.all(inFlight);
  await fetch(`${esUrl}/${s.prefix}-lines-*/_refresh`, { method: 'POST' });
  const got = await count(esUrl, s.prefix);
  if (got !== total) throw new Error(`the query store holds ${got} lines, expected ${total}`);
  return true;
}
