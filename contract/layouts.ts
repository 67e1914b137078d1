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

/** Spark's date alone (groups: yy MM dd HH mm ss), for a header the catalogue does not know further. */
export const SPARK_START = new RegExp(`^\\[?${SPARK_DATE}`);
const ISO_START = new RegExp(`^\\[?${ISO_DATE}`);
const FLUME_START = new RegExp(`^\\[?${FLUME_DATE}`);
/** A JSON object on one line (Spark 4's structured logging, log4j's JSON layouts): always a whole event. */
export const JSON_OBJECT = /^\{"/;
/** Java stack trace continuations: `\tat …`, `Caused by:`, `Suppressed:`, `... 12 more`. */
export const JAVA_CONTINUATION = /^(?:\s+at |\s*Caused by:|\s*Suppressed:|\s*\.\.\. \d+ (?:more|common frames omitted))/;
/** A qualified Java class name, `t3.Job$Failure` (no nested quantifiers: a dot ends each part). */
const JAVA_CLASS = String.raw`(?:[A-Za-z_$][\w$]{0,128}\.){1,32}[A-Za-z_$][\w$]{0,128}`;
/**
 * The line that names a Java exception under its log line (`java.io.IOException: gone`): continues an event too.
 * The class's simple name ends in Exception, Error or Throwable, or is one of them (Hadoop's LocalJobRunner wraps a
 * task's failure in a plain `java.lang.Exception: …`). The generic profile reads a line alone, so only a name that
 * gives itself away joins the line before; javaException, which sees the line under it, takes any name.
 */
export const JAVA_EXCEPTION_LINE = new RegExp(`^${JAVA_CLASS}(?<=Exception|Error|Throwable)(?::|$)`);
/**
 * A throwable's first line as Java prints it, `t3.T3InjectedFailure: injected` or the bare class, also after the
 * JVM's `Exception in thread "main" ` or a `Caused by: ` (groups: that prefix, the class).
 */
const THROWABLE_LINE = new RegExp(`^(Exception in thread "[^"\\n]{0,256}" |[ \\t]*Caused by: )?(${JAVA_CLASS})(?::|\\s*$)`);
const THROWABLE_NAME = /(?:Exception|Error|Throwable)$/;
/**
 * What Java prints under a throwable's first line and nothing else does: a frame (`\tat t3.Job.run(Job.java:12)`,
 * unindented where a printer trimmed it), its cause or a suppressed one, `... 3 more`; sticky.
 */
const UNDER_THROWABLE = /[ \t]*(?:at [^\s(]{1,1024}\(|Caused by: |Suppressed: |\.\.\. \d{1,9} (?:more|common frames omitted))/y;

/**
 * The class of the exception a Java trace begins with (`text`: the trace, its first line the exception's), or
 * undefined when the first line names none. A name ending in Exception, Error or Throwable, one after the JVM's
 * `Exception in thread "…"` or a `Caused by:`, is one whatever follows; any other (an app's `t3.T3InjectedFailure`,
 * as a Spark 3.5 executor prints it under its ERROR line) only with a frame or cause right under it, so a line of
 * text that merely holds a colon (`spark.executor.memory: 4g`) names nothing.
 */
export function javaException(text: string): string | undefined {
  const nl = text.indexOf('\n');
  const m = THROWABLE_LINE.exec(nl < 0 ? text : text.slice(0, nl));
  if (!m) return undefined;
  const cls = m[2]!;
  if (m[1] !== undefined || THROWABLE_NAME.test(cls)) return cls;
  if (nl < 0) return undefined;
  UNDER_THROWABLE.lastIndex = nl + 1;
  return UNDER_THROWABLE.test(text) ? cls : undefined;
}

/** logback's default and log4j's ABSOLUTE date: a time of day only, `12:00:00.123 [main] INFO …`. */
const TIME_OF_DAY = String.raw`(\d{2}):(\d{2}):(\d{2})[.,](\d{3})`;
const TIME_START = new RegExp(`^\\[?${TIME_OF_DAY}[ \\]]`);
/** The JVM's own output, no layout: an uncaught exception (`Exception in thread "main" java.lang.…`). */
export const UNCAUGHT = /^Exception in thread "[^"\n]{0,256}" /;
/** The JVM's warnings: `OpenJDK 64-Bit Server VM warning: …`, the launcher's `WARNING: Using incubator modules: …`. */
export const VM_WARNING = /^(?:(?:OpenJDK|Java HotSpot\(TM\)) 64-Bit Server VM warning|WARNING): /;
/** Unified GC logging (-Xlog:gc, Java 9+): `[0.123s][info][gc] …`, `[info][gc,heap] …`; dated ones start with the ISO date. */
const GC_UNIFIED_START = /^\[(?:\d{1,12}(?:[.,]\d{1,9})?(?:s|ms|ns)|trace|debug|info|warning|error) *\]\[/;
/** -XX:+PrintGCDetails (Java 8): `12.345: [GC (Allocation Failure) …` or `[GC (…` without -XX:+PrintGCTimeStamps. */
const GC_LEGACY_START = /^(?:\d{1,9}\.\d{3}: )?\[(?:Full GC|GC)[ (]/;
/**
 * What Spark prints to stderr itself, outside log4j, as its logging starts: each line an event, not
 * the rest of the log line before it (where Spark 4's executors switch to JSON, this line comes
 * between the last plain line and the first JSON object).
 */
export const SPARK_CONSOLE = /^(?:Using Spark's default log4j profile: |Setting default log level to ")/;
/** Python logging's default format (`%(levelname)s:%(name)s:%(message)s`): `WARNING:py4j.clientserver:…`. */
export const PY_DEFAULT = /^(CRITICAL|ERROR|WARNING|INFO|DEBUG):([^\s:][^:\n]{0,255}):/;
/** Python's printout of an uncaught exception (a PySpark driver's last words) and of logging.exception. */
export const PY_TRACEBACK = 'Traceback (most recent call last):';
/** The line between two chained tracebacks: the second belongs to the same event. */
export const PY_CHAINED = /^(?:During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)$/;
/** After an ISO date, Python's `%(asctime)s - %(name)s - %(levelname)s - %(message)s` (name optional); sticky. */
export const PY_ASCTIME_REST = /- (?:([^\s]{1,256}) - )?([A-Z]{4,8}) - ?/y;

/** Python levels at which a log line prints a traceback under it (logging.exception is ERROR; exc_info=True mostly WARNING or worse). */
const PY_TRACE_LEVELS = new Set(['CRITICAL', 'ERROR', 'WARNING']);

/**
 * A Python log line that a traceback after it belongs to (logging.exception, exc_info): one at
 * WARNING or worse. After an INFO or DEBUG line a traceback is the program's own uncaught one (a
 * PySpark driver's `INFO:…:stopped`, then its last words): an event of its own.
 */
function pythonHeader(line: string): boolean {
  const d = PY_DEFAULT.exec(line);
  if (d) return PY_TRACE_LEVELS.has(d[1]!);
  const m = ISO_HEADER.exec(line);
  if (!m) return false;
  PY_ASCTIME_REST.lastIndex = m[0].length;
  const a = PY_ASCTIME_REST.exec(line);
  return a !== null && PY_TRACE_LEVELS.has(a[2]!);
}

/**
 * The catalogue's layouts, as a file's hint remembers them (the collector's cutting and the
 * aggregator's parsing each keep one per file and stream): spark `24/11/21 06:20:00 …`, iso
 * `2024-11-21 06:20:00,123 …` (log4j, Flink, Hadoop, Python's asctime; bracketed too), flume
 * `21 Nov 2024 …`, time `06:20:00.123 [main] …` (logback), json (one object per line), gc (the
 * JVM's GC logging), python (logging's default, tracebacks), jvm (uncaught exceptions, VM
 * warnings), console (Spark's own stderr lines, a terminal's \r redraw).
 */
export type LayoutName = 'spark' | 'iso' | 'flume' | 'time' | 'json' | 'gc' | 'python' | 'jvm' | 'console';

/**
 * A file's (a stream's) layout, as far as seen: the layout of the last header found. An ordering
 * hint, not a lock: a line it does not take goes through the full detection, which moves it.
 * `detections` counts the full detections that found a header (a file in one layout: 1).
 */
export interface LayoutHint {
  layout: LayoutName | undefined;
  detections: number;
}

export const newHint = (): LayoutHint => ({ layout: undefined, detections: 0 });

const isTraceback = (line: string, prev: string | undefined) =>
  line.startsWith(PY_TRACEBACK) && !(prev !== undefined && (PY_CHAINED.test(prev) || pythonHeader(prev)));

const isDigit = (c: number) => c >= 48 && c <= 57;
/** A date's third character (after an optional bracket): `/` Spark's, a blank Flume's, `:` a time of day, a digit ISO's. */
const thirdOfDate = (l: string) => l.charCodeAt(l.charCodeAt(0) === 91 ? 3 : 2);

/**
 * Each layout's own header test (anchored: whatever the hint, a line is a header of the layouts it
 * matches only), its regular expression behind the characters the full detection dispatches on, so
 * a line of another layout costs a character or two, not a match.
 */
const HEADER_OF: Record<LayoutName, (line: string, prev: string | undefined) => boolean> = {
  spark: (l) => thirdOfDate(l) === 47 && SPARK_START.test(l),
  iso: (l) => isDigit(thirdOfDate(l)) && ISO_START.test(l),
  flume: (l) => thirdOfDate(l) === 32 && FLUME_START.test(l),
  time: (l) => thirdOfDate(l) === 58 && TIME_START.test(l),
  json: (l) => l.charCodeAt(0) === 123 && JSON_OBJECT.test(l),
  gc: (l) => (l.charCodeAt(0) === 91 || isDigit(l.charCodeAt(0))) && (GC_UNIFIED_START.test(l) || GC_LEGACY_START.test(l)),
  python: (l, prev) => {
    const c = l.charCodeAt(0);
    return c === 84 ? isTraceback(l, prev) : (c === 67 || c === 68 || c === 69 || c === 73 || c === 87) && PY_DEFAULT.test(l);
  },
  jvm: (l) => {
    const c = l.charCodeAt(0);
    return c === 69 ? UNCAUGHT.test(l) : (c === 74 || c === 79 || c === 87) && VM_WARNING.test(l);
  },
  console: (l) => {
    const c = l.charCodeAt(0);
    return c === 13 || ((c === 83 || c === 85) && SPARK_CONSOLE.test(l));
  },
};

function datedLayout(line: string, at: number): LayoutName | undefined {
  // The third character of the date tells the layouts apart: 24/…, 2024-…, 21 Nov …, 12:00:00.
  const k = line.charCodeAt(at + 2);
  if (k === 47 /* / */) return SPARK_START.test(line) ? 'spark' : undefined;
  if (k === 32 /*   */) return FLUME_START.test(line) ? 'flume' : undefined;
  if (k === 58 /* : */) return TIME_START.test(line) ? 'time' : undefined;
  return ISO_START.test(line) ? 'iso' : GC_LEGACY_START.test(line) ? 'gc' : undefined;
}

/**
 * The full detection: the layout whose header the line is, if any (optionally with the date in
 * brackets). `prev`, the last non-empty line of the event still open, decides for a Python
 * traceback: it starts an event unless it is chained to the one before or follows the Python log
 * line that printed it. The first character (and a date's third) leads to the one or two
 * layouts a line can be a header of.
 */
export function headerLayout(line: string, prev?: string): LayoutName | undefined {
  const c = line.charCodeAt(0);
  if (c >= 48 && c <= 57) return datedLayout(line, 0);
  switch (c) {
    case 123 /* { */: return JSON_OBJECT.test(line) ? 'json' : undefined;
    case 91 /* [ */: return datedLayout(line, 1) ?? (GC_UNIFIED_START.test(line) || GC_LEGACY_START.test(line) ? 'gc' : undefined);
    case 84 /* T */: return isTraceback(line, prev) ? 'python' : undefined;
    case 69 /* E */: return UNCAUGHT.test(line) ? 'jvm' : PY_DEFAULT.test(line) ? 'python' : undefined;
    case 87 /* W */: return PY_DEFAULT.test(line) ? 'python' : VM_WARNING.test(line) ? 'jvm' : undefined;
    case 67 /* C */: case 68 /* D */: case 73 /* I */: return PY_DEFAULT.test(line) ? 'python' : undefined;
    case 74 /* J */: case 79 /* O */: return VM_WARNING.test(line) ? 'jvm' : undefined;
    case 85 /* U */: case 83 /* S */: return SPARK_CONSOLE.test(line) ? 'console' : undefined;
    // A carriage return first: a terminal's redraw (Spark's console progress bar), not the rest of the event before.
    case 13 /* \r */: return 'console';
    default: return undefined;
  }
}

/** Whether a line begins a new event in any layout above (the full detection; see headerLayout). */
export function startsEvent(line: string, prev?: string): boolean {
  return headerLayout(line, prev) !== undefined;
}

/**
 * startsEvent with a file's hint: the layout that began the file's last event is tried first, and
 * only a line it does not take goes through the full detection (which moves the hint when it finds
 * another layout: Spark 4's executors switching to JSON, a driver's stderr mixing Python's and
 * log4j's lines). The answer is startsEvent's: a layout's test takes only its own headers.
 */
export function startsEventIn(hint: LayoutHint, line: string, prev?: string): boolean {
  // No header begins with a blank, and most lines that do not start an event do (a trace's frames): not asked twice.
  const c = line.charCodeAt(0);
  if (c === 9 || c === 32 || line.length === 0) return false;
  const h = hint.layout;
  if (h !== undefined && HEADER_OF[h](line, prev)) return true;
  const found = headerLayout(line, prev);
  if (found === undefined) return false;
  hint.layout = found;
  hint.detections++;
  return true;
}

// --- the headers the aggregator parses (each begins with one of the dates) --------------------
/** Spark: `24/11/21 06:20:00[,123] LEVEL [thread] Logger: msg` (groups: yy MM dd HH mm ss SSS level thread logger). */
export const SPARK_HEADER = new RegExp(`^${SPARK_DATE}(?:[.,](\\d{3}))? +([A-Za-z]{4,7}) +(?:\\[([^\\]\\n]{0,256})\\] +)?([^\\s:[\\]]{1,512}): ?`);
/** ISO date, fraction and zone, then the rest of the header in ISO_REST (groups: yyyy MM dd HH mm ss fraction zone). */
export const ISO_HEADER = new RegExp(`^${ISO_DATE}(?:[.,](\\d{1,9}))?(Z|[+-]\\d{2}:?\\d{2})? +`);
/** An ISO date in brackets, `[2024-11-21 06:20:00,123] …` (groups as ISO_HEADER's). */
export const ISO_BRACKETED = new RegExp(`^\\[${ISO_DATE}(?:[.,](\\d{1,9}))?(Z|[+-]\\d{2}:?\\d{2})?\\]`);
/** After an ISO date: `[thread] LEVEL [thread] logger[:line] [ndc/mdc] - msg` (also `logger: msg`); sticky. */
export const ISO_REST = /(?:\[([^\]\n]{0,256})\] +)?([A-Za-z]{4,7}) +(?:\[([^\]\n]{0,256})\] +)?([^\s[\]]{1,512}?)(?::\d{1,6})? *(?:\[[^\]\n]{0,512}\] *)?(?:- ?|: ?)/y;
/** Flume: `21 Nov 2024 06:20:00,123 INFO  [thread] (Class.method:207) - msg` (groups: dd Mon yyyy HH mm ss SSS level thread logger). */
export const FLUME_HEADER = new RegExp(`^${FLUME_DATE} +([A-Za-z]{4,7}) +\\[([^\\]\\n]{0,256})\\] +\\(([^\\s():]{1,512})(?::\\d{1,6})?\\) *(?:- ?)?`);
/**
 * A time of day, `[thread] LEVEL logger`, then the message (groups: HH mm ss SSS thread level logger): the logback.xml
 * pattern of logback's manual, `%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n`, the logger as abbreviated
 * (Tomcat's `o.a.c.c.C.[.[.[/]`); and logback's default with no configuration at all (BasicConfigurator's TTLLLayout),
 * whose separator holds the event's key-value pairs: `logger -- msg`, `logger -task="7" stage="a"- msg`.
 */
export const TIME_HEADER = new RegExp(`^${TIME_OF_DAY} +\\[([^\\]\\n]{0,256})\\] +([A-Za-z]{4,7}) +(\\S{1,512}) +-(?:-|(?=[\\w$])[^\\n]{0,1024}?-(?= ))? ?`);
/** Unified GC logging's decorations, `[0.123s][info][gc,heap   ] ` (each [..] read by the aggregator). */
export const GC_UNIFIED_HEADER = /^((?:\[[^\]\n]{0,64}\]){2,8}) ?/;
/** -XX:+PrintGCDetails with -XX:+PrintGCDateStamps: `2024-11-21T06:20:00.123+0000: 0.123: [GC …` (groups: yyyy MM dd HH mm ss fraction zone). */
export const GC_LEGACY_DATED = new RegExp(`^${ISO_DATE}(?:[.,](\\d{1,9}))?(Z|[+-]\\d{2}:?\\d{2})?: (?:\\d{1,9}\\.\\d{3}: )?\\[`);
export const GC_LEGACY = GC_LEGACY_START;
