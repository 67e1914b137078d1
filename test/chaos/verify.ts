// Compares what every pod wrote with what the query API serves for it:
// missing, duplicated, out of order (per source) and corrupted lines.
import { fetchRetrying } from '../helpers/wait.js';
import { parseSeq } from './lines.js';

export interface PodVerdict {
  executorId: string;
  written: number;
  served: number;
  missing: number;
  duplicated: number;
  outOfOrder: number;
  corrupted: number;
  firstMissing?: number;
}

interface ApiLine {
  message: string;
}

/**
 * Every line the query API serves for one executor, page by page. A page
 * answered with a retriable status (503 STORE_UNAVAILABLE: Elasticsearch slow
 * or just restarted; 429) or not answered at all is asked for again with
 * backoff, for minutes: the product documents those as "try again", and after
 * the chaos run's Elasticsearch outages, on a busy machine, they happen. Any
 * other status still fails the run.
 */
export async function servedLines(apiUrl: string, appId: string, executorId: string, onRetry?: (why: string) => void): Promise<ApiLine[]> {
  const out: ApiLine[] = [];
  let after: string | undefined;
  for (;;) {
    const url = new URL(`${apiUrl}/api/v1/apps/${appId}/executors/${executorId}/logs`);
    url.searchParams.set('size', '10000');
    if (after) url.searchParams.set('after', after);
    const r = await fetchRetrying(url, { requestTimeoutMs: 60_000, ...(onRetry ? { onRetry: (why: string) => onRetry(`executor ${executorId}: ${why}`) } : {}) });
    if (r.status === 404) return out;
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
    const body = (await r.json()) as { lines: ApiLine[]; next?: string };
    out.push(...body.lines);
    if (!body.next || body.lines.length === 0) return out;
    after = body.next;
  }
}

export function verdict(pod: string, executorId: string, written: number, served: ApiLine[]): PodVerdict {
  const seen = new Uint8Array(written);
  let duplicated = 0;
  let outOfOrder = 0;
  let corrupted = 0;
  let last = -1;
  for (const l of served) {
    const seq = parseSeq(pod, l.message);
    if (seq === undefined || seq >= written) {
      corrupted++;
      continue;
    }
    if (seen[seq]) duplicated++;
    seen[seq] = 1;
    if (seq < last) outOfOrder++;
    last = Math.max(last, seq);
  }
  const firstMissing = seen.indexOf(0);
  const missing = seen.reduce((s, v) => s + (v ? 0 : 1), 0);
  return { executorId, written, served: served.length, missing, duplicated, outOfOrder, corrupted, ...(firstMissing >= 0 ? { firstMissing } : {}) };
}
