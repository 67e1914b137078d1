// The data set as the collector would ship it: events cut at the same
// start-of-event rule, with byte offsets, packed into Batch records of up to
// 256 KiB of text. Each file is split over several executors so a topic of
// several partitions gets work on every partition. The aggregator benchmarks
// produce these records to Kafka; the direct-bulk reference turns the same
// records into the same documents with the same ids.
import { readFile } from 'node:fs/promises';
import { kafkaKey, type Batch } from '../../contract/index.js';
import type { DataSet } from './generate.js';

const START = /^\d{2}\/\d{2}\/\d{2} /;
const BATCH_TEXT_BYTES = 256 * 1024;
export const EXECUTORS_PER_FILE = 8;

export interface Record_ {
  key: string;
  batch: Batch;
}

export async function dataBatches(data: DataSet, maxEvents = Infinity): Promise<{ records: Record_[]; events: number; bytes: number }> {
  const records: Record_[] = [];
  let events = 0;
  let bytes = 0;
  const t = Date.now();
  for (const [f, path] of data.files.entries()) {
    const text = await readFile(path, 'latin1');
    const perExec = Array.from({ length: EXECUTORS_PER_FILE }, (_, k) => ({ k, lines: [] as Batch['lines'], size: 0 }));
    let off = 0;
    let evStart = -1;
    let evText = '';
    let n = 0;
    const flushExec = (e: (typeof perExec)[number]) => {
      if (!e.lines.length) return;
      const executorId = String(f * EXECUTORS_PER_FILE + e.k + 1);
      const batch: Batch = {
        v: 1,
        src: {
          appType: 'spark', appId: 'spark-bench0000000000000000000000000002', executorId, role: 'executor', appName: 'bench', namespace: 'bench',
          pod: `bench-exec-${executorId}`, podUid: `00000000-0000-0000-0001-${executorId.padStart(12, '0')}`, node: 'bench-node',
          container: 'spark-kubernetes-executor', file: path, fileId: `bench-f${f}`, fileSeq: 0,
        },
        lines: e.lines,
      };
      records.push({ key: kafkaKey(batch.src), batch });
      e.lines = [];
      e.size = 0;
    };
    const emit = () => {
      if (evStart < 0) return;
      // Consecutive runs of 64 events per executor: each executor's lines keep their file order.
      const e = perExec[Math.floor(n / 64) % EXECUTORS_PER_FILE]!;
      e.lines.push({ off: evStart, t: t + n, m: evText });
      e.size += evText.length;
      bytes += evText.length + 1;
      n++;
      events++;
      if (e.size >= BATCH_TEXT_BYTES) flushExec(e);
    };
    for (const line of text.split('\n')) {
      if (off >= text.length) break;
      if (START.test(line)) {
        emit();
        if (events >= maxEvents) break;
        evStart = off;
        evText = line;
      } else {
        evText += `\n${line}`;
      }
      off += line.length + 1;
    }
    if (events < maxEvents) emit();
    for (const e of perExec) flushExec(e);
    if (events >= maxEvents) break;
  }
  return { records, events, bytes };
}
