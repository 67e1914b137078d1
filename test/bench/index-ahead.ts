// What index-ahead saves: the first bulk into a day's line index that does not
// exist yet (the bulk creates it) against the first bulk into one created
// ahead, through the aggregator's own sink, alternating, after a warm-up bulk.
//   node --import tsx test/bench/index-ahead.ts --es-url http://127.0.0.1:19200 [--rounds 6]
import { parseArgs } from 'node:util';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { lineId, names } from '../../contract/index.js';

const { values: a } = parseArgs({ options: { 'es-url': { type: 'string', default: 'http://127.0.0.1:19200' }, rounds: { type: 'string', default: '6' } } });
const esUrl = a['es-url']!;
const prefix = `bench-ahead-${Date.now().toString(36)}`;
const n = names(prefix);
const sink = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 60_000 });
const src = { appType: 'spark', appId: 'spark-bench-ahead', executorId: '1', role: 'executor', podUid: 'u', file: '/f', fileId: 'f', fileSeq: 1 };
const items = (index: string) => Array.from({ length: 200 }, (_, i) => {
  const doc = { '@timestamp': Date.UTC(2030, 0, 1), ingested: Date.UTC(2030, 0, 1), lid: lineId(src, i), ...src, off: i, level: 'INFO', logger: 'L', message: `line ${i}` };
  return { index, id: doc.lid, doc };
});
const day = (k: number) => `${n.linesIndexPrefix}2030.${String(1 + Math.floor(k / 28)).padStart(2, '0')}.${String(1 + (k % 28)).padStart(2, '0')}`;
try {
  await sink.installTemplates();
  await sink.bulk(items(day(0))); // warm-up: the store's first bulk pays for more than the index
  const ms: Record<'new' | 'ahead', number[]> = { new: [], ahead: [] };
  let k = 1;
  for (let r = 0; r < Number(a.rounds); r++) {
    for (const kind of r % 2 ? (['new', 'ahead'] as const) : (['ahead', 'new'] as const)) {
      const index = day(k++);
      if (kind === 'ahead') await sink.createIndex(index);
      const t = performance.now();
      const out = await sink.bulk(items(index));
      ms[kind].push(Math.round(performance.now() - t));
      if (out.some((o) => o.status !== 'ok')) throw new Error(`bulk into ${index}: ${JSON.stringify(out.find((o) => o.status !== 'ok'))}`);
    }
  }
  const range = (x: number[]) => `${Math.min(...x)}-${Math.max(...x)} ms (${x.join(', ')})`;
  console.log(`first bulk of 200 lines into a new index: ${range(ms.new)}`);
  console.log(`first bulk of 200 lines into an index made ahead: ${range(ms.ahead)}`);
} finally {
  await fetch(`${esUrl}/${prefix}-*`, { method: 'DELETE' }).catch(() => undefined);
  for (const t of [n.linesTemplate, n.summaryTemplate]) await fetch(`${esUrl}/_index_template/${t}`, { method: 'DELETE' }).catch(() => undefined);
  await sink.close();
}
