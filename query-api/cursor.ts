import { ID_PART } from '../contract/identity.js';
import { ApiError } from './errors.js';

// Cursors are opaque to clients (base64url JSON) but strictly checked on the
// way back in: a forged cursor must end as a 400 naming the parameter, never
// as a malformed search_after that Elasticsearch answers with a 500.

/** The (fileSeq, off) of the last line delivered, and its number in its file (record `n`) when it has one. */
export type Position = [number, number] | [number, number, number];
/**
 * Follow position: per sequence, the last line delivered. A sequence is what
 * one source writes one file after another (fileSeq order): an executor's log
 * file(s), keyed by the executor id (the key of positions before captures
 * existed, so an older client's position still reads), and each whole-stream
 * capture of its container's stdout or stderr, keyed `<executorId>/<log>`
 * ('/' never occurs in an id: contract/identity.ts ID_PART). A CRI file
 * interleaving both streams is one sequence (no `log`).
 */
export type Positions = Record<string, Position>;

export const CAPTURES = ['stdout', 'stderr'] as const;
export type Capture = (typeof CAPTURES)[number];

/** The key of a line's sequence: its executor id, or `<executorId>/<log>` for a whole-stream capture. */
export function sequenceKey(l: { executorId: string; log?: string }): string {
  return l.log === undefined ? l.executorId : `${l.executorId}/${l.log}`;
}

/** A sequence key's executor id and capture (undefined: the executor's log file sequence). */
export function parseSequenceKey(key: string): { executorId: string; log?: Capture } {
  const cut = key.indexOf('/');
  return cut < 0 ? { executorId: key } : { executorId: key.slice(0, cut), log: key.slice(cut + 1) as Capture };
}

function isSequenceKey(key: string): boolean {
  const { executorId, log } = parseSequenceKey(key);
  return ID_PART.test(executorId) && (log === undefined || (CAPTURES as readonly string[]).includes(log));
}

const MAX_CURSOR = 65_536;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');

function unb64(param: string, raw: string): unknown {
  if (raw.length > MAX_CURSOR || !/^[A-Za-z0-9_-]+$/.test(raw)) throw new ApiError('BAD_CURSOR', `${param}: not a cursor returned by this API`, { param });
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new ApiError('BAD_CURSOR', `${param}: not a cursor returned by this API`, { param });
  }
}

const isInt = (x: unknown): x is number => Number.isSafeInteger(x);

/**
 * 'time': a whole app interleaved (@timestamp, fileSeq, off, lid); 'file': one
 * executor as written, its log file first, then its stderr and stdout
 * captures (log, fileSeq, off, lid; `log` null for the log file); 'search':
 * hits newest first (same fields as 'time'); 'apps': apps newest first
 * (lastSeen, appId).
 */
export type Order = 'time' | 'file' | 'search' | 'apps';
export type SortValues = (number | string | null)[];

const SHAPES: Record<Order, { ints: number; what: string }> = {
  time: { ints: 3, what: 'the logs of a whole app' },
  search: { ints: 3, what: 'a search' },
  file: { ints: 2, what: 'the logs of one executor' },
  apps: { ints: 1, what: 'the apps list' },
};

/** JSON padded with spaces (which JSON.parse ignores) to a whole number of 3-byte groups. */
function padded(json: string, bytes: number): string {
  return bytes % 3 === 0 ? json : bytes % 3 === 1 ? `${json}  ` : `${json} `;
}

/**
 * One position's cursor. The same string as encodeCursors gives for it: a
 * client may compare cursors (the page finds a linked line by its cursor).
 */
export function encodeCursor(order: Order, sort: SortValues): string {
  // The bytes of JSON.stringify({ o, s }) without building the object.
  const json = `{"o":"${order}","s":${JSON.stringify(sort)}}`;
  return Buffer.from(padded(json, Buffer.byteLength(json, 'utf8')), 'utf8').toString('base64url');
}

/**
 * encodeCursor of many positions at once (a page's lines), in one buffer and
 * one base64 pass: each cursor's JSON is padded with spaces (which JSON.parse
 * ignores) to a whole number of 3-byte groups, so the base64 of the
 * concatenation is the concatenation of the cursors' base64, and each cursor
 * is a slice of it. Per line this was an allocated Buffer and a base64 call:
 * about half of the API's own CPU for a 1,000-line page.
 */
export function encodeCursors(order: Order, sorts: readonly SortValues[]): string[] {
  const head = `{"o":"${order}","s":`;
  const ends = new Array<number>(sorts.length);
  let text = '';
  for (let i = 0; i < sorts.length; i++) {
    const json = `${head}${JSON.stringify(sorts[i])}}`;
    text += padded(json, json.length);
    ends[i] = text.length;
  }
  // One byte per character is what the padding assumed (numbers and ids are
  // ASCII); anything else is encoded line by line.
  if (Buffer.byteLength(text, 'utf8') !== text.length) return sorts.map((s) => encodeCursor(order, s));
  // The base64 as bytes, each cursor a string copied out of them: slices of one
  // base64 string would be V8 sliced strings, which JSON.stringify writes at
  // more than twice the cost of flat ones (measured: 2.2-2.7 vs 1.0-1.3 ms for
  // a 1,000-line page), undoing the gain.
  const b64 = Buffer.from(Buffer.from(text, 'latin1').toString('base64url'), 'latin1');
  const out = new Array<string>(sorts.length);
  let start = 0;
  for (let i = 0; i < sorts.length; i++) {
    const end = (ends[i]! / 3) * 4;
    out[i] = b64.toString('latin1', start, end);
    start = end;
  }
  return out;
}

export function decodeCursor(param: string, raw: string, order: Order): SortValues {
  const v = unb64(param, raw) as { o?: unknown; s?: unknown } | null;
  const s = v?.s;
  const shape = SHAPES[order];
  if (!v || v.o !== order || !Array.isArray(s)) {
    throw new ApiError('BAD_CURSOR', `${param}: this cursor does not belong to ${shape.what}`, { param });
  }
  // A 'file' cursor leads with the line's capture (null: the log file). One without it, of a
  // release before captures (a permalink kept since), is a line of the log file.
  const log: unknown = order === 'file' && s.length === shape.ints + 2 ? s[0] : undefined;
  const rest = log === undefined ? s : s.slice(1);
  const last = rest[shape.ints];
  if (
    rest.length !== shape.ints + 1 || !rest.slice(0, shape.ints).every(isInt) || typeof last !== 'string' || last.length > 253
    || (order === 'file' && s.length === shape.ints + 2 && log !== null && !(CAPTURES as readonly unknown[]).includes(log))
  ) {
    throw new ApiError('BAD_CURSOR', `${param}: not a cursor returned by this API`, { param });
  }
  return order === 'file' && log === undefined ? [null, ...(rest as SortValues)] : (s as SortValues);
}

export function encodePositions(p: Positions): string {
  return b64({ f: p });
}

export function decodePositions(param: string, raw: string, maxSequences: number): Positions {
  const v = unb64(param, raw) as { f?: unknown } | null;
  const f = v?.f;
  if (!f || typeof f !== 'object' || Array.isArray(f)) throw new ApiError('BAD_CURSOR', `${param}: not a follow cursor returned by this API`, { param });
  const entries = Object.entries(f);
  if (entries.length > maxSequences) throw new ApiError('BAD_CURSOR', `${param}: more than ${maxSequences} sequences`, { param });
  const out: Positions = {};
  for (const [k, pos] of entries) {
    if (!isSequenceKey(k) || !Array.isArray(pos) || (pos.length !== 2 && pos.length !== 3) || !pos.every(isInt)) {
      throw new ApiError('BAD_CURSOR', `${param}: not a follow cursor returned by this API`, { param });
    }
    out[k] = pos.slice() as Position;
  }
  return out;
}
