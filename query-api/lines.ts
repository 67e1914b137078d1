import type { Static } from '@sinclair/typebox';
import { encodeCursor, encodeCursors, type Order } from './cursor.js';
import { badParameter } from './errors.js';
import type { Line } from './schemas.js';
import type { StoredLine } from './store/elasticsearch.js';

// How a stored line leaves the API: as a JSON object (with its own cursor) or
// as one block of plain text, the same for downloads, text pages and the CLI.

// Every field is named (no rest/spread copies): this runs for each of up to
// thousands of lines per request, and one object shape keeps it monomorphic.
// Absent optional fields stay undefined, which JSON leaves out.
export function toApiLine(l: StoredLine, order: Order): ApiLine {
  return apiLine(l, encodeCursor(order, l.sort));
}

/** toApiLine of a page of lines, their cursors encoded together (encodeCursors). */
export function toApiLines(lines: readonly StoredLine[], order: Order): ApiLine[] {
  const cursors = encodeCursors(order, lines.map((l) => l.sort));
  return lines.map((l, i) => apiLine(l, cursors[i]!));
}

function apiLine(l: StoredLine, cursor: string): ApiLine {
  return {
    lid: l.lid,
    cursor,
    time: l['@timestamp'],
    ingested: l.ingested,
    appType: l.appType,
    appId: l.appId,
    executorId: l.executorId,
    role: l.role,
    pod: l.pod,
    node: l.node,
    container: l.container,
    stream: l.stream,
    log: l.log,
    file: l.file,
    fileSeq: l.fileSeq,
    off: l.off,
    level: l.level,
    logger: l.logger,
    thread: l.thread,
    message: l.message,
    exception: l.exception,
    mdc: l.mdc,
    truncated: l.truncated,
    timeClamped: l.timeClamped,
  };
}
export type ApiLine = Static<typeof Line>;

/**
 * The serialiser of the routes that answer with pages of lines. Their bodies
 * are built field by field (toApiLine, and the error handler's fixed shape),
 * so nothing unlisted can leak and the schema's filtering is not needed; for
 * string-heavy lines V8's JSON.stringify is several times cheaper than the
 * compiled schema serialiser. The response schemas stay for validation in
 * tests and for the OpenAPI document.
 */
export const nativeJson = () => (body: unknown) => JSON.stringify(body);

/** Decorations of the text form (the CLI colors it on a terminal). */
export interface TextStyle {
  time(s: string): string;
  level(level: string | undefined, s: string): string;
  executor(id: string, s: string): string;
}
const PLAIN: TextStyle = { time: (s) => s, level: (_l, s) => s, executor: (_id, s) => s };

/**
 * `2024-11-21T06:20:00.123Z WARN  [3] o.a.s.Executor: message` (executor tag only when asked). A
 * line of a whole-stream capture (`log`: the container's stdout or stderr, not its log file)
 * is always marked: `[3/stdout]` with the executor tag, `[stdout]` without.
 */
export function formatText(l: { time: number; level?: string; executorId: string; log?: string; logger?: string; message: string }, withExecutor: boolean, style: TextStyle = PLAIN): string {
  return formatAt(l.time, l, withExecutor, style);
}

/** formatText of a stored line (its time is `@timestamp`), without copying it. */
export function formatStored(l: StoredLine, withExecutor: boolean): string {
  return formatAt(l['@timestamp'], l, withExecutor, PLAIN);
}

function formatAt(time: number, l: { level?: string; executorId: string; log?: string; logger?: string; message: string }, withExecutor: boolean, style: TextStyle): string {
  const tag = withExecutor ? (l.log ? `[${l.executorId}/${l.log}]` : `[${l.executorId}]`) : l.log ? `[${l.log}]` : '';
  const exec = tag ? `${style.executor(l.executorId, tag)} ` : '';
  const logger = l.logger ? `${l.logger}: ` : '';
  return `${style.time(isoTime(time))} ${style.level(l.level, (l.level ?? '-').padEnd(5))} ${exec}${logger}${l.message}\n`;
}

// new Date(t).toISOString() without a Date per line: the text up to the
// minute (`2024-11-21T06:20:`) is kept while the lines stay in that minute,
// which lines of one page nearly always do; seconds and milliseconds are
// written from the offset into it. The output is toISOString's, byte for byte.
let minuteStart = NaN;
let minuteText = '';
const TWO = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

export function isoTime(time: number): string {
  const into = time - minuteStart;
  if (!(into >= 0 && into < 60_000 && Number.isInteger(time))) {
    const iso = new Date(time).toISOString(); // throws a RangeError for an invalid time, as before
    if (!Number.isInteger(time)) return iso;
    minuteStart = time - (((time % 60_000) + 60_000) % 60_000);
    minuteText = iso.slice(0, iso.length - 7);
    return iso;
  }
  return `${minuteText}${TWO[Math.floor(into / 1000)]}.${THREE[into % 1000]}Z`;
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A time parameter (already matching TIME_PATTERN) as epoch ms. */
export function parseTime(param: string, raw: string | undefined, now = Date.now()): number | undefined {
  if (raw === undefined) return undefined;
  let ms: number;
  const rel = /^(\d+)([smhd])$/.exec(raw);
  if (rel) ms = now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
  else if (/^\d+$/.test(raw)) ms = Number(raw);
  else ms = Date.parse(raw);
  if (!Number.isFinite(ms) || ms < 0 || ms > 8_640_000_000_000_000) throw badParameter(param, `not a valid time: ${JSON.stringify(raw)}`);
  return ms;
}
