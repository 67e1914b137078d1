// A decoded batch -> the documents Elasticsearch stores: one LineDoc per event
// (id = the contract's line id, so a replay overwrites) and, per executor and
// per app, 'first'/'last' summary documents whose external versions let a
// replay move firstSeen only earlier and lastSeen only later.
import {
  appKey, dailyIndex, kafkaKey, lineId, summaryId, VERSION_HORIZON,
  type AppDoc, type Batch, type ExecutorDoc, type LineDoc, type LogEvent, type Names,
} from '../../contract/index.js';
import { ParseHints, parseEvent, type ParseOptions } from './parse-event.js';
import { PatternCache } from './pattern-cache.js';
import type { ZonedClock } from './zoned-time.js';

/**
 * A7 clamp rule: a parsed time more than 1 day after the collection time, or
 * more than 30 days before it, is not believed (a wrong zone, a two-digit
 * year, a replayed old file): @timestamp falls back to the collection time and
 * timeClamped is set. Both times are always stored (`ingested` = collection).
 */
export const CLAMP_FUTURE_MS = 24 * 3_600_000;
export const CLAMP_PAST_MS = 30 * 24 * 3_600_000;

export interface LineItem {
  index: string;
  id: string;
  doc: LineDoc;
  event: LogEvent;
}

export function eventTime(parsed: number | undefined, t: number): { ts: number; clamped: boolean } {
  if (parsed === undefined) return { ts: t, clamped: false };
  if (parsed > t + CLAMP_FUTURE_MS || parsed < t - CLAMP_PAST_MS) return { ts: t, clamped: true };
  return { ts: parsed, clamped: false };
}

const SHARED_PATTERNS = new PatternCache();
/** Per file and stream, the layout its last header was in (tried first: a file's layout is detected once). */
const SHARED_HINTS = new ParseHints();

export function lineItems(batch: Batch, n: Names, clock: ZonedClock, patterns: PatternCache = SHARED_PATTERNS): LineItem[] {
  const { src } = batch;
  const out: LineItem[] = [];
  // The source's own pattern, if it sent one; the collection time completes dates printed without a day.
  const o: ParseOptions = { ...patterns.get(src.pattern), ref: 0 };
  // One look-up per run of events of one stream (a batch is one file's).
  let hintOf: string | undefined | null = null;
  const n0 = batch.n;
  for (let i = 0; i < batch.lines.length; i++) {
    const ev = batch.lines[i]!;
    o.ref = ev.t;
    if (ev.s !== hintOf) {
      o.hint = SHARED_HINTS.get(src.fileId, ev.s);
      hintOf = ev.s;
    }
    const p = parseEvent(ev.m, clock, o);
    const { ts, clamped } = eventTime(p.time, ev.t);
    const lid = lineId(src, ev.off);
    const doc: LineDoc = {
      '@timestamp': ts, ingested: ev.t, lid,
      appType: src.appType, appId: src.appId, executorId: src.executorId, role: src.role,
      file: src.file, fileId: src.fileId, fileSeq: src.fileSeq, off: ev.off,
      message: p.message,
    };
    if (src.appName !== undefined) doc.appName = src.appName;
    if (src.namespace !== undefined) doc.namespace = src.namespace;
    if (src.pod !== undefined) doc.pod = src.pod;
    if (src.podUid !== undefined) doc.podUid = src.podUid;
    if (src.node !== undefined) doc.node = src.node;
    if (src.container !== undefined) doc.container = src.container;
    const stream = ev.s ?? src.stream;
    if (stream !== undefined) doc.stream = stream;
    // A whole-stream capture (the source is one stream): its lines are a sequence of their own.
    if (src.stream !== undefined) doc.log = src.stream;
    if (p.level) doc.level = p.level;
    if (p.logger) doc.logger = p.logger;
    if (p.thread) doc.thread = p.thread;
    if (p.exception) doc.exception = p.exception;
    if (p.mdc) doc.mdc = p.mdc;
    if (n0 !== undefined) doc.n = n0 + i;
    if (ev.tr === 1) doc.truncated = true;
    if (clamped) doc.timeClamped = true;
    out.push({ index: dailyIndex(n, ts), id: lid, doc, event: ev });
  }
  return out;
}

export interface SummaryItem {
  index: string;
  id: string;
  doc: ExecutorDoc | AppDoc;
  version: number;
}

/** Folds the time span of many batches so one bulk carries one pair of summaries per executor and per app. */
export class SummaryFold {
  private readonly spans = new Map<string, { src: Batch['src']; min: number; max: number }>();

  add(src: Batch['src'], docs: readonly { doc: LineDoc }[]): void {
    if (docs.length === 0) return;
    let min = Infinity;
    let max = -Infinity;
    for (const { doc } of docs) {
      const ts = doc['@timestamp'];
      if (ts < min) min = ts;
      if (ts > max) max = ts;
    }
    const key = kafkaKey(src);
    const s = this.spans.get(key);
    if (!s) this.spans.set(key, { src, min, max });
    else {
      s.min = Math.min(s.min, min);
      if (max >= s.max) {
        s.max = max;
        s.src = src; // the latest pod/node facts win on the 'last' document
      }
    }
  }

  items(n: Names): SummaryItem[] {
    const apps = new Map<string, { src: Batch['src']; min: number; max: number }>();
    const out: SummaryItem[] = [];
    for (const [key, { src, min, max }] of this.spans) {
      const ex: Omit<ExecutorDoc, 'kind'> = { appType: src.appType, appId: src.appId, executorId: src.executorId, role: src.role };
      for (const f of ['appName', 'namespace', 'pod', 'podUid', 'node', 'container'] as const) if (src[f] !== undefined) ex[f] = src[f];
      out.push(summary(n.executorsIndex, key, 'first', { kind: 'first', ...ex, firstSeen: Math.floor(min) }));
      out.push(summary(n.executorsIndex, key, 'last', { kind: 'last', ...ex, lastSeen: Math.floor(max) }));
      const ak = appKey(src);
      const a = apps.get(ak);
      if (!a) apps.set(ak, { src, min, max });
      else {
        a.min = Math.min(a.min, min);
        if (max >= a.max) Object.assign(a, { max, src });
      }
    }
    for (const [key, { src, min, max }] of apps) {
      const app: Omit<AppDoc, 'kind'> = { appType: src.appType, appId: src.appId };
      if (src.appName !== undefined) app.appName = src.appName;
      if (src.namespace !== undefined) app.namespace = src.namespace;
      out.push(summary(n.appsIndex, key, 'first', { kind: 'first', ...app, firstSeen: Math.floor(min) }));
      out.push(summary(n.appsIndex, key, 'last', { kind: 'last', ...app, lastSeen: Math.floor(max) }));
    }
    return out;
  }
}

function summary(index: string, key: string, kind: 'first' | 'last', doc: ExecutorDoc | AppDoc): SummaryItem {
  const seen = kind === 'first' ? doc.firstSeen! : doc.lastSeen!;
  return { index, id: summaryId(key, kind), doc, version: kind === 'first' ? VERSION_HORIZON - seen : seen };
}
