// The log layouts sparklogs reads, in one place for both sides: the collector
// starts a new event at a line that begins with one of these dates (or is a
// JSON object), and the aggregator reads time, level, logger and thread with
// header patterns built from the same dates. So a line the aggregator takes
// for an event's header is always one the collector began an event with.
//
// Every pattern is anchored at the start and has no nested quantifiers: a line
// that matches nothing fails in a few steps, whatever it holds.

// --- the dates that begin an event ------------------------------------------------------------
/** Spark's log4j templates: `24/11/21 06:20:00` (yy/MM/dd). */
const SPARK_DATE = String.raw`(\d{2})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})`;
/** ISO 8601 as log4j, logback, Flink and Python print it: `2024-11-21 06:20:00` or `2024-11-21T06:20:00`. */
const ISO_DATE = String.raw`(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})`;
/** Flume's log4j layout: `21 Nov 2024 06:20:00,123`. */
const FLUME_DATE = String.raw`(\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}),(\d{3})`;

const SPARK_START = new RegExp(`^\\[?${SPARK_DATE}`);
const ISO_START = new RegExp(`^\\[?${ISO_DATE}`);
const FLUME_START = new RegExp(`^\\[?${FLUME_DATE}`);
/** A JSON object on one line (Spark 4's structured logging, log4j's JSON layouts): always a whole event. */
export const JSON_OBJECT = /^\{"/;
/** Java stack trace continuations: `\tat …`, `Caused by:`, `Suppressed:`, `... 12 more`. */
export const JAVA_CONTINUATION = /^(?:\s+at |\s*Caused by:|\s*Suppressed:|\s*\.\.\. \d+ (?:more|common frames omitted))/;

/** Whether a line begins a new event in any layout above (optionally with the date in brackets). */
export function startsEvent(line: string): boolean {
  const c = line.charCodeAt(0);
  if (c === 123 /* { */) return JSON_OBJECT.test(line);
  if (!((c >= 48 && c <= 57) || c === 91 /* [ */)) return false;
  // The third character of the date tells the layouts apart: 24/…, 2024-…, 21 Nov … (one more after a bracket).
  const k = line.charCodeAt(c === 91 ? 3 : 2);
  if (k === 47 /* / */) return SPARK_START.test(line);
  if (k === 32 /*   */) return FLUME_START.test(line);
  return ISO_START.test(line);
}

// --- the headers the aggregator parses (each begins with one of the dates) --------------------
/** Spark: `24/11/21 06:20:00[,123] LEVEL [thread] Logger: msg` (groups: yy MM dd HH mm ss SSS level thread logger). */
export const SPARK_HEADER = new RegExp(`^${SPARK_DATE}(?:[.,](\\d{3}))? +([A-Za-z]{4,7}) +(?:\\[([^\\]\\n]{0,256})\\] +)?([^\\s:[\\]]{1,512}): ?`);
/** ISO date, fraction and zone, then the rest of the header in ISO_REST (groups: yyyy MM dd HH mm ss fraction zone). */
export const ISO_HEADER = new RegExp(`^${ISO_DATE}(?:[.,](\\d{1,9}))?(Z|[+-]\\d{2}:?\\d{2})? +`);
/** After an ISO date: `[thread] LEVEL [thread] logger[:line] [ndc/mdc] - msg` (also `logger: msg`); sticky. */
export const ISO_REST = /(?:\[([^\]\n]{0,256})\] +)?([A-Za-z]{4,7}) +(?:\[([^\]\n]{0,256})\] +)?([^\s[\]]{1,512}?)(?::\d{1,6})? *(?:\[[^\]\n]{0,512}\] *)?(?:- ?|: ?)/y;
/** Flume: `21 Nov 2024 06:20:00,123 INFO  [thread] (Class.method:207) - msg` (groups: dd Mon yyyy HH mm ss SSS level thread logger). */
export const FLUME_HEADER = new RegExp(`^${FLUME_DATE} +([A-Za-z]{4,7}) +\\[([^\\]\\n]{0,256})\\] +\\(([^\\s():]{1,512})(?::\\d{1,6})?\\) *(?:- ?)?`);
