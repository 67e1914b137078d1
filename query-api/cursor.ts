import { ID_PART } from '../contract/identity.js';
import { ApiError } from './errors.js';

// Cursors are opaque to clients (base64url JSON) but strictly checked on the
// way back in: a forged cursor must end as a 400 naming the parameter, never
// as a malformed search_after that Elasticsearch answers with a 500.

/** The (fileSeq, off) of the last line delivered, and its number in its file (record `n`) when it has one. */
export type Position = [number, number] | [number, number, number];
/** Follow position: per executor, the last line delivered. */
export type Positions = Record<string, Position>;

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
 * executor as written (fileSeq, off, lid); 'search': hits newest first (same
 * fields as 'time'); 'apps': apps newest first (lastSeen, appId).
 */
export type Order = 'time' | 'file' | 'search' | 'apps';
export type SortValues = (number | string)[];

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
  const last = s[shape.ints];
  if (s.length !== shape.ints + 1 || !s.slice(0, shape.ints).every(isInt) || typeof last !== 'string' || last.length > 253) {
    throw new ApiError('BAD_CURSOR', `${param}: not a cursor returned by this API`, { param });
  }
  return s as SortValues;
}

export function encodePositions(p: Positions): string {
  return b64({ f: p });
}

export function decodePositions(param: string, raw: string, maxExecutors: number): Positions {
  const v = unb64(param, raw) as { f?: unknown } | null;
  const f = v?.f;
  if (!f || typeof f !== 'object' || Array.isArray(f)) throw new ApiError('BAD_CURSOR', `${param}: not a follow cursor returned by this API`, { param });
  const entries = Object.entries(f);
  if (entries.length > maxExecutors) throw new ApiError('BAD_CURSOR', `${param}: more than ${maxExecutors} executors`, { param });
  const out: Positions = {};
  for (const [k, pos] of entries) {
    if (!ID_PART.test(k) || !Array.isArray(pos) || (pos.length !== 2 && pos.length !== 3) || !pos.every(isInt)) {
      throw new ApiError('BAD_CURSOR', `${param}: not a follow cursor returned by this API`, { param });
    }
    out[k] = pos.slice() as Position;
  }
  return out;
}
