// The issue's targets, each printed with its status (met / missed / not
// measured) at the end of a run and in results.md. A target reads named
// figures that the parts record with ctx.record(key, value) (ctx.shared):
// a part that did not run leaves its keys unset and the target says "not
// measured". A figure measured in rounds is recorded with recordRounds: the
// median under its key and the spread under `<key>.spread` (±, a share of
// the median), so a target decided by an unstable median says so.
//
// Keys any part may record (units in the name):
//   collector.linesPerCpuSecond   collector part: lines shipped per CPU second of the collector
//   collector.rssAt1000MiB        footprint part: the collector's max RSS at 1,000 lines/s
//   collector.idleCpuPercent      footprint part: the collector's CPU idle, % of one core
//   filebeat.linesPerCpuSecond    peers part: Filebeat on the same files into the same Kafka
//   filebeat.rssAt1000MiB         peers part: Filebeat tailing a file written at 1,000 lines/s
//   peers.collector.linesPerCpuSecond, peers.collector.rssAt1000MiB
//                                 peers part: the collector measured beside Filebeat in the
//                                 peers part's own rounds; preferred over the collector and
//                                 footprint parts' figures when present (same windows)
//   peers.collectorOverFilebeat.linesPerCpuSecond, peers.collectorOverFilebeat.rssAt1000MiB
//                                 peers part: collector / Filebeat per round, median of the
//                                 rounds (the peers part records every figure above in rounds)
//   pipeline.vsDirectBulk         aggregator part: aggregator / direct bulk, median of rounds
//   query.overheadTailPercent     query part: API over direct, last 1,000 lines, p50, median of rounds
//   query.overheadWordPercent     query part: the same for a word across all apps
//   freshness.p99Seconds, freshness.linesPerSec, freshness.atHalfMax (1 when the rate was
//                                 half the pipeline maximum measured in the same run)
import type { Rounds } from './stats.js';
import { fmt } from './report.js';

export type Status = 'met' | 'missed' | 'not measured';

export interface TargetResult {
  target: string;
  status: Status;
  /** What was measured, with the reference when there is one. */
  measured: string;
  /** Set when a figure the status rests on spread more than ±10% over its rounds. */
  unstable?: boolean;
}

export type Figures = Map<string, number>;

export function recordRounds(shared: Figures, key: string, r: Rounds | null): void {
  if (!r) return;
  shared.set(key, r.median);
  shared.set(`${key}.spread`, r.spread);
  shared.set(`${key}.min`, r.min);
  shared.set(`${key}.max`, r.max);
  shared.set(`${key}.rounds`, r.values.length);
  shared.set(`${key}.failedRounds`, r.failed);
}

const spreadText = (f: Figures, key: string) => {
  const n = f.get(`${key}.rounds`);
  if (n === undefined) return '';
  const failed = f.get(`${key}.failedRounds`) ?? 0;
  return ` (median of ${n}${failed ? ` of ${n + failed}` : ''} rounds, ${fmt(f.get(`${key}.min`))}..${fmt(f.get(`${key}.max`))}, ±${((f.get(`${key}.spread`) ?? NaN) * 100).toFixed(0)}%)`;
};
const unstable = (f: Figures, ...keys: string[]) => keys.some((k) => (f.get(`${k}.spread`) ?? 0) > 0.1);
const first = (f: Figures, ...keys: string[]) => keys.find((k) => f.get(k) !== undefined);

interface Target {
  text: string;
  evaluate(f: Figures): Omit<TargetResult, 'target'>;
}

const notMeasured = (why: string): Omit<TargetResult, 'target'> => ({ status: 'not measured', measured: why });
const status = (ok: boolean): Status => (ok ? 'met' : 'missed');

/**
 * The collector vs Filebeat: each side is the median of its rounds; the ratio
 * the target is decided on is the median of the rounds' ratios (ratioKey,
 * recorded by the peers part, which measures both in the same rounds) when
 * present, else the ratio of the two medians (figures from different parts).
 */
function vsFilebeat(ours: string[], theirs: string, unit: string, ok: (ratio: number) => boolean, ratioKey: string): Target['evaluate'] {
  return (f) => {
    const key = first(f, ...ours);
    const fb = f.get(theirs);
    if (fb === undefined) return notMeasured(`no Filebeat figure in this run (${theirs}: the peers part did not run or did not measure it)${key ? `; collector ${fmt(f.get(key), unit)}` : ''}`);
    if (!key) return notMeasured(`no collector figure in this run (${ours.join(' or ')}); Filebeat ${fmt(fb, unit)}`);
    const c = f.get(key)!;
    const paired = key === ours[0] ? f.get(ratioKey) : undefined;
    const ratio = paired ?? c / fb;
    const how = paired !== undefined ? `${fmt(ratio)}x, median of the rounds' ratios${spreadText(f, ratioKey)}` : `${fmt(ratio)}x (of the medians)`;
    return { status: status(ok(ratio)), measured: `collector ${fmt(c, unit)}${spreadText(f, key)} vs Filebeat ${fmt(fb, unit)}${spreadText(f, theirs)}: ${how}`, unstable: unstable(f, key, theirs, ...(paired !== undefined ? [ratioKey] : [])) };
  };
}

export const TARGETS: Target[] = [
  {
    text: "collector >= 1.5x Filebeat's lines/s per CPU second",
    evaluate: vsFilebeat(['peers.collector.linesPerCpuSecond', 'collector.linesPerCpuSecond'], 'filebeat.linesPerCpuSecond', 'lines/CPU s', (r) => r >= 1.5, 'peers.collectorOverFilebeat.linesPerCpuSecond'),
  },
  {
    text: "collector RSS <= Filebeat's at 1,000 lines/s",
    evaluate: vsFilebeat(['peers.collector.rssAt1000MiB', 'collector.rssAt1000MiB'], 'filebeat.rssAt1000MiB', 'MiB', (r) => r <= 1, 'peers.collectorOverFilebeat.rssAt1000MiB'),
  },
  {
    text: 'collector idle CPU <= 0.1% of a core',
    evaluate: (f) => {
      const v = f.get('collector.idleCpuPercent');
      return v === undefined ? notMeasured('the footprint part did not run') : { status: status(v <= 0.1), measured: `${fmt(v, '% of a core')}${spreadText(f, 'collector.idleCpuPercent')}` };
    },
  },
  {
    text: 'pipeline >= 0.9 of the direct-bulk ceiling (median of rounds)',
    evaluate: (f) => {
      const v = f.get('pipeline.vsDirectBulk');
      return v === undefined ? notMeasured('the aggregator part did not run or a round failed') : { status: status(v >= 0.9), measured: `${fmt(v)} of direct bulk${spreadText(f, 'pipeline.vsDirectBulk')}`, unstable: unstable(f, 'pipeline.vsDirectBulk') };
    },
  },
  ...(['Tail', 'Word'] as const).map((k): Target => ({
    text: `query API <= 15% over the same Elasticsearch queries sent directly (${k === 'Tail' ? 'last 1,000 lines' : 'word across all apps'}, p50)`,
    evaluate: (f) => {
      const key = `query.overhead${k}Percent`;
      const v = f.get(key);
      return v === undefined ? notMeasured('the query part did not run') : { status: status(v <= 15), measured: `${fmt(v, '%')} over direct${spreadText(f, key)}`, unstable: unstable(f, key) };
    },
  })),
  {
    text: 'freshness: a line written is shown within 1 s at p99, at half the pipeline maximum',
    evaluate: (f) => {
      const v = f.get('freshness.p99Seconds');
      const rate = f.get('freshness.linesPerSec');
      if (v === undefined) return notMeasured('the freshness part did not run or saw no line');
      if (!f.get('freshness.atHalfMax')) return notMeasured(`no pipeline maximum in this run (run the aggregator part before it): p99 ${fmt(v, 's')} at a fixed ${fmt(rate, 'lines/s')}`);
      const missing = f.get('freshness.missingLines') ?? 0;
      return { status: status(v <= 1 && missing === 0), measured: `p99 ${fmt(v, 's')} at ${fmt(rate, 'lines/s')}${missing ? `; ${missing} lines never shown` : ''}` };
    },
  },
];

export function evaluateTargets(f: Figures): TargetResult[] {
  return TARGETS.map((t) => ({ target: t.text, ...t.evaluate(f) }));
}
