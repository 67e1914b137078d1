// Each UTC day's line index is created ahead of its first line. Without this,
// the first bulk of the day created the index itself: a cluster-state update
// (the template applied, a shard allocated) that held that bulk, and the
// partition behind it, at every 00:00 UTC (up to 1.84 s was seen at start-up,
// where the same happens, on a loaded machine). The aggregator creates
// today's and tomorrow's index at start and then every hour. Every replica
// does; the store tells all but one that the index exists. A failure is
// logged and tried again at the next round: tomorrow's index has about 23 of
// them before it is needed, and a bulk still creates a missing index itself.
import { dailyIndex, type Names } from '../contract/names.js';
import type { Logger } from '../contract/log.js';
import type { EsSink } from './sinks/elasticsearch.js';

export const INDEX_AHEAD_EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface IndexAheadDeps {
  sink: Pick<EsSink, 'createIndex'>;
  names: Names;
  log: Logger;
  now?: () => number;
}

/** Today's and tomorrow's line index (UTC) exist after this; returns those this call created. */
export async function createIndicesAhead(d: IndexAheadDeps): Promise<string[]> {
  const now = (d.now ?? Date.now)();
  const created: string[] = [];
  for (const index of [dailyIndex(d.names, now), dailyIndex(d.names, now + DAY_MS)]) {
    if (await d.sink.createIndex(index)) created.push(index);
  }
  return created;
}

export interface IndexAhead {
  /** The first round now, then one every `everyMs`. */
  start(): void;
  stop(): void;
}

export function indexAhead(d: IndexAheadDeps, everyMs = INDEX_AHEAD_EVERY_MS): IndexAhead {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const round = async () => {
    try {
      const created = await createIndicesAhead(d);
      if (created.length > 0) d.log.info({ indices: created }, 'indicesCreatedAhead');
    } catch (err) {
      d.log.warn({ err: (err as Error).message, retryInMs: everyMs }, 'indexAheadFailed');
    }
    if (stopped) return;
    timer = setTimeout(() => void round(), everyMs);
    timer.unref();
  };
  return {
    start() {
      if (!stopped && timer === undefined) void round();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
