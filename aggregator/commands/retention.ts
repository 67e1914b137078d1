// `sparklogs-aggregator retention --max-age-days N [--dry-run]`: deletes whole
// daily line indices (deleting documents one by one would be slow and leave
// segments to merge). An index goes only when its whole day is older than N
// days, so no line younger than N days is ever deleted.
import { indexDay, type Names } from '../../contract/names.js';
import type { Logger } from '../../contract/log.js';
import type { EsSink } from '../sinks/elasticsearch.js';

const DAY_MS = 86_400_000;

export function expiredIndices(n: Names, indices: string[], maxAgeDays: number, now: number): string[] {
  const cutoff = now - maxAgeDays * DAY_MS;
  return indices.filter((i) => {
    const day = indexDay(n, i);
    return day !== undefined && day.getTime() + DAY_MS <= cutoff;
  });
}

export async function retention(sink: EsSink, n: Names, maxAgeDays: number, dryRun: boolean, log: Logger, now = Date.now()): Promise<string[]> {
  const expired = expiredIndices(n, await sink.lineIndices(), maxAgeDays, now);
  if (dryRun) {
    log.info({ indices: expired, maxAgeDays }, 'retentionDryRun');
  } else {
    await sink.deleteIndices(expired);
    log.info({ indices: expired, maxAgeDays }, 'retentionDeleted');
  }
  return expired;
}
