// Spark 4 structured logging (spark.log.structuredLogging.enabled): one JSON
// object per line with ts, level, msg, logger, context (the MDC: task, stage,
// executor ids) and exception {class, msg, stacktrace[]} (or stacktrace as
// Java prints it, a string, with the causes).
import type { ParsedEvent } from './parse-event.js';
import { normalizeLevel } from './levels.js';

/** Bounds what a log line can add to the mapping of a daily index (each MDC key is a field). */
const MAX_MDC_KEYS = 32;
const MAX_MDC_VALUE = 1024;
const MAX_FRAMES = 200;

interface Frame { class?: unknown; method?: unknown; file?: unknown; line?: unknown }

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function parseTs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string') return undefined;
  // log4j's JsonTemplateLayout may print `+0000`; Date.parse wants `+00:00`.
  const t = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(t) ? undefined : t;
}

function renderFrames(frames: unknown): string {
  if (!Array.isArray(frames)) return '';
  const out: string[] = [];
  for (const f of frames.slice(0, MAX_FRAMES) as Frame[]) {
    if (!f || typeof f !== 'object') continue;
    const where = str(f.file) ? `${String(f.file)}${typeof f.line === 'number' ? `:${f.line}` : ''}` : 'Unknown Source';
    out.push(`\n\tat ${String(f.class ?? '?')}.${String(f.method ?? '?')}(${where})`);
  }
  if (frames.length > MAX_FRAMES) out.push(`\n\t... ${frames.length - MAX_FRAMES} more`);
  return out.join('');
}

function mdcOf(context: unknown): Record<string, string> | undefined {
  if (!context || typeof context !== 'object' || Array.isArray(context)) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(context)) {
    if (n >= MAX_MDC_KEYS) break;
    if (v === null || v === undefined || k === '') continue;
    // A dot would make Elasticsearch build sub-objects, and `a` next to `a.b` is a mapping conflict.
    out[k.replace(/\./g, '_').slice(0, 128)] = (typeof v === 'string' ? v : JSON.stringify(v)).slice(0, MAX_MDC_VALUE);
    n++;
  }
  return n ? out : undefined;
}

/** The parsed event, or undefined when the line is not a structured log object. */
export function parseStructuredJson(first: string, rest: string | undefined): ParsedEvent | undefined {
  let o: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(first);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    o = v as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const msg = str(o.msg) ?? str(o.message);
  if (msg === undefined && o.ts === undefined) return undefined;
  let message = msg ?? '';
  const e: ParsedEvent = { message };
  const time = parseTs(o.ts ?? o['@timestamp']);
  if (time !== undefined) e.time = time;
  const level = normalizeLevel(str(o.level));
  if (level) e.level = level;
  const logger = str(o.logger);
  if (logger) e.logger = logger.slice(0, 512);
  const thread = str(o.thread);
  if (thread) e.thread = thread.slice(0, 256);
  const mdc = mdcOf(o.context ?? o.mdc);
  if (mdc) e.mdc = mdc;
  const ex = o.exception as { class?: unknown; msg?: unknown; stacktrace?: unknown } | undefined;
  const exClass = ex && typeof ex === 'object' ? str(ex.class) : undefined;
  if (ex && typeof ex === 'object' && exClass) {
    e.exception = exClass.slice(0, 512);
    // A stringified trace (deploy/spark/log4j2-json.properties) is the whole of Java's printout, causes
    // included, its first line `class: msg`; Spark's own template gives the outermost frames as objects.
    const printed = str(ex.stacktrace);
    message += printed !== undefined ? `\n${printed.replace(/\n+$/, '')}` : `\n${exClass}${str(ex.msg) ? `: ${String(ex.msg)}` : ''}${renderFrames(ex.stacktrace)}`;
  }
  if (rest !== undefined) message += `\n${rest}`;
  e.message = message;
  return e;
}
