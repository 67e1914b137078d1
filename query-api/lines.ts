import { encodeCursor, type Order } from './cursor.js';
import { badParameter } from './errors.js';
import type { StoredLine } from './store/elasticsearch.js';

// How a stored line leaves the API: as a JSON object (with its own cursor) or
// as one block of plain text, the same for downloads, text pages and the CLI.

export function toApiLine(l: StoredLine, order: Order) {
  const { sort, '@timestamp': time, podUid: _u, fileId: _f, appName: _a, namespace: _n, ...rest } = l;
  return { ...rest, time, cursor: encodeCursor(order, sort) };
}
export type ApiLine = ReturnType<typeof toApiLine>;

/** Decorations of the text form (the CLI colors it on a terminal). */
export interface TextStyle {
  time(s: string): string;
  level(level: string | undefined, s: string): string;
  executor(id: string, s: string): string;
}
const PLAIN: TextStyle = { time: (s) => s, level: (_l, s) => s, executor: (_id, s) => s };

/** `2024-11-21T06:20:00.123Z WARN  [3] o.a.s.Executor: message` (executor tag only when asked). */
export function formatText(l: { time: number; level?: string; executorId: string; logger?: string; message: string }, withExecutor: boolean, style: TextStyle = PLAIN): string {
  const exec = withExecutor ? `${style.executor(l.executorId, `[${l.executorId}]`)} ` : '';
  const logger = l.logger ? `${l.logger}: ` : '';
  return `${style.time(new Date(l.time).toISOString())} ${style.level(l.level, (l.level ?? '-').padEnd(5))} ${exec}${logger}${l.message}\n`;
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
