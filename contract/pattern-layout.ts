// A log4j 1/2 or logback PatternLayout conversion pattern (`%d{ISO8601} %-5p
// [%t] %c{1}: %m%n`) compiled into what both sides need: whether a line is
// the header of an event (the collector's cutting) and the fields of that
// header (the aggregator's parsing). The collector sends the pattern with
// every batch (src.pattern), so both sides compile the same text.
//
// A line is read left to right without backtracking: each conversion takes
// what its shape allows (a date, a level word, digits) or, for free text (a
// logger, a thread), runs up to the literal that follows it; a literal space
// stands for as many blanks (a padded conversion's padding is skipped). Every step is bounded by MAX_FIELD, so a hostile
// line or pattern costs at most a pass over the line's first few kilobytes.

/** The longest value one conversion may take (a logger, a thread name, an MDC value). */
const MAX_FIELD = 1024;
/** The longest pattern accepted: it travels in every batch. */
export const MAX_PATTERN_LENGTH = 512;

export class PatternError extends Error {
  readonly code = 'PATTERN_INVALID';
  constructor(pattern: string, problem: string) {
    super(`log pattern ${JSON.stringify(pattern.slice(0, MAX_PATTERN_LENGTH))}: ${problem}`);
    this.name = 'PatternError';
  }
}

/** What a date conversion read; fields a date format lacks stay undefined (the reader takes them from the collection time). */
export interface PatternDate {
  year?: number;
  month?: number;
  day?: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  /** From Z / X / XXX in the format, or the conversion's zone option when it is UTC. */
  offsetMs?: number;
  /** `%d{UNIX}` / `%d{UNIX_MILLIS}`: the instant itself. */
  epochMs?: number;
}

export interface PatternFields {
  date?: PatternDate;
  level?: string;
  logger?: string;
  thread?: string;
  mdc?: Record<string, string>;
  /** Where the message begins in the line. */
  messageAt: number;
}

export interface CompiledLayout {
  readonly pattern: string;
  /** The zone of `%d{…}{zone}`, if it names one other than UTC: dates are read in it. */
  readonly zone?: string;
  /** Whether the line is the header of an event in this layout. */
  startsEvent(line: string): boolean;
  /** The header's fields, or undefined when the line is not a header. */
  parse(line: string): PatternFields | undefined;
}

// --- dates ----------------------------------------------------------------------------------
type DateRole = 'y2' | 'y4' | 'M' | 'Mon' | 'd' | 'H' | 'h' | 'm' | 's' | 'S' | 'a' | 'Z' | 'skip';

interface DateFormat {
  re: RegExp;
  roles: DateRole[];
  unix?: 1 | 1000;
  /** `%d{…}{UTC}`: a date without its own offset is UTC. */
  utc?: boolean;
  /** Month names: only reading them tells a header from a look-alike. */
  named?: boolean;
}

const NAMED_DATES: Record<string, string> = {
  ISO8601: "yyyy-MM-dd'T'HH:mm:ss,SSS",
  ISO8601_BASIC: "yyyyMMdd'T'HHmmss,SSS",
  ISO8601_OFFSET_DATE_TIME_HH: "yyyy-MM-dd'T'HH:mm:ss,SSSX",
  ISO8601_OFFSET_DATE_TIME_HHMM: "yyyy-MM-dd'T'HH:mm:ss,SSSXX",
  ISO8601_OFFSET_DATE_TIME_HHCMM: "yyyy-MM-dd'T'HH:mm:ss,SSSXXX",
  ABSOLUTE: 'HH:mm:ss,SSS',
  ABSOLUTE_MICROS: 'HH:mm:ss,SSSSSS',
  ABSOLUTE_NANOS: 'HH:mm:ss,SSSSSSSSS',
  COMPACT: 'yyyyMMddHHmmssSSS',
  DATE: 'dd MMM yyyy HH:mm:ss,SSS',
  DEFAULT: 'yyyy-MM-dd HH:mm:ss,SSS',
  DEFAULT_MICROS: 'yyyy-MM-dd HH:mm:ss,SSSSSS',
  DEFAULT_NANOS: 'yyyy-MM-dd HH:mm:ss,SSSSSSSSS',
};
const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

function compileDate(pattern: string, fmt: string): DateFormat {
  if (fmt === 'UNIX') return { re: /(\d{1,12})/y, roles: ['skip'], unix: 1000 };
  if (fmt === 'UNIX_MILLIS') return { re: /(\d{1,15})/y, roles: ['skip'], unix: 1 };
  const f = NAMED_DATES[fmt] ?? fmt;
  let src = '';
  const roles: DateRole[] = [];
  const group = (re: string, role: DateRole) => {
    src += `(${re})`;
    roles.push(role);
  };
  for (let i = 0; i < f.length; ) {
    const ch = f[i]!;
    if (ch === "'") {
      const end = f.indexOf("'", i + 1);
      if (end < 0) throw new PatternError(pattern, `date format ${JSON.stringify(f)}: a quote is not closed`);
      const quoted = f.slice(i + 1, end);
      // ISO8601's T may also be a space (log4j 1 and logback print one): either is read.
      src += end === i + 1 ? "'" : quoted === 'T' ? '[T ]' : escape(quoted);
      i = end + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(ch)) {
      src += escape(ch);
      i++;
      continue;
    }
    let n = 1;
    while (f[i + n] === ch) n++;
    i += n;
    switch (ch) {
      case 'y': case 'u': if (n === 2) group('\\d{2}', 'y2'); else group('\\d{4}', 'y4'); break;
      case 'M': if (n >= 4) group('[A-Za-z]{3,9}', 'Mon'); else if (n === 3) group('[A-Za-z]{3}', 'Mon'); else group(n === 1 ? '\\d{1,2}' : '\\d{2}', 'M'); break;
      case 'd': group(n === 1 ? '\\d{1,2}' : '\\d{2}', 'd'); break;
      case 'H': case 'k': group(n === 1 ? '\\d{1,2}' : '\\d{2}', 'H'); break;
      case 'h': case 'K': group(n === 1 ? '\\d{1,2}' : '\\d{2}', 'h'); break;
      case 'm': group(n === 1 ? '\\d{1,2}' : '\\d{2}', 'm'); break;
      case 's': group(n === 1 ? '\\d{1,2}' : '\\d{2}', 's'); break;
      case 'S': case 'n': group(`\\d{${n}}`, 'S'); break;
      case 'a': group('[AaPp][Mm]', 'a'); break;
      case 'E': group('[A-Za-z]{2,9}', 'skip'); break;
      case 'z': group('[A-Za-z][A-Za-z0-9/_+-]{0,31}', 'skip'); break;
      case 'Z': group('[+-]\\d{4}|Z', 'Z'); break;
      case 'X': case 'x': group(n === 1 ? '[+-]\\d{2}|Z' : n === 2 ? '[+-]\\d{4}|Z' : '[+-]\\d{2}:\\d{2}|Z', 'Z'); break;
      default: throw new PatternError(pattern, `date format ${JSON.stringify(f)}: the letter ${ch} is not supported`);
    }
  }
  return { re: new RegExp(src, 'y'), roles, named: roles.includes('Mon') };
}

function readDate(d: DateFormat, m: RegExpExecArray): PatternDate | undefined {
  if (d.unix) {
    const epochMs = Number(m[1]) * d.unix;
    return { hour: 0, minute: 0, second: 0, ms: 0, epochMs };
  }
  const out: PatternDate = { hour: 0, minute: 0, second: 0, ms: 0 };
  let pm: boolean | undefined;
  let h12: number | undefined;
  for (let i = 0; i < d.roles.length; i++) {
    const v = m[i + 1]!;
    switch (d.roles[i]) {
      case 'y2': out.year = 2000 + Number(v); break;
      case 'y4': out.year = Number(v); break;
      case 'M': out.month = Number(v); break;
      case 'Mon': { const mon = MONTHS[v.slice(0, 3).toLowerCase()]; if (!mon) return undefined; out.month = mon; break; }
      case 'd': out.day = Number(v); break;
      case 'H': out.hour = Number(v); break;
      case 'h': h12 = Number(v); break;
      case 'm': out.minute = Number(v); break;
      case 's': out.second = Number(v); break;
      case 'S': out.ms = Number(v.length >= 3 ? v.slice(0, 3) : v.padEnd(3, '0')); break;
      case 'a': pm = v.toLowerCase() === 'pm'; break;
      case 'Z': out.offsetMs = offsetOf(v); break;
      default: break;
    }
  }
  if (h12 !== undefined) out.hour = (h12 % 12) + (pm ? 12 : 0);
  return out;
}

function offsetOf(z: string): number {
  if (z === 'Z') return 0;
  const digits = z.slice(1).replace(':', '');
  const v = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0)) * 60_000;
  return z[0] === '-' ? -v : v;
}

// --- conversions ----------------------------------------------------------------------------
type Kind = 'date' | 'level' | 'logger' | 'class' | 'method' | 'thread' | 'mdc' | 'token' | 'text' | 'digits' | 'message' | 'end' | 'after';

const CONVERSIONS: Record<string, Kind> = {};
const define = (kind: Kind, names: string) => { for (const n of names.split(' ')) CONVERSIONS[n] = kind; };
define('date', 'd date');
define('level', 'p level le');
define('logger', 'c logger lo');
define('class', 'C class');
define('method', 'M method');
define('token', 'F file l location');
define('thread', 't thread tn threadName');
define('digits', 'L line T tid threadId r relative sn sequenceNumber N nano pid processId');
define('mdc', 'X mdc MDC');
define('text', 'x NDC ndc marker markerSimpleName cn contextName');
define('message', 'm msg message');
define('end', 'n');
define('after', 'ex exception throwable xEx xException xThrowable rEx rException rThrowable wEx');

/** The level words a header may carry (the aggregator maps them onto its six). */
export const LEVEL_WORD = /^(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE|CRITICAL)$/i;
const LETTERS = /[A-Za-z]{1,16}/y;
const DIGITS = /\d{1,19}/y;

/** One piece of the pattern: a literal or a conversion (every step has every field: one shape, fast to read). */
interface Step {
  lit: string | undefined;
  kind: Kind | undefined;
  date: DateFormat | undefined;
  key: string | undefined;
  /** Padded to a minimum width: blanks may stand before (right-justified) or after it. */
  padLeft: boolean;
  padRight: boolean;
}

const newStep = (lit: string | undefined, kind: Kind | undefined): Step => ({ lit, kind, date: undefined, key: undefined, padLeft: false, padRight: false });

const isBlank = (c: number) => c === 32 || c === 9;

function tokenize(pattern: string): { steps: Step[]; zone?: string } {
  const steps: Step[] = [];
  let lit = '';
  let zone: string | undefined;
  const flush = () => {
    if (lit !== '') steps.push(newStep(lit, undefined));
    lit = '';
  };
  let i = 0;
  let seenMessage = false;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch !== '%') {
      if (!seenMessage) lit += ch;
      i++;
      continue;
    }
    if (pattern[i + 1] === '%') {
      if (!seenMessage) lit += '%';
      i += 2;
      continue;
    }
    const at = i;
    const mod = /(-?)(\d{0,3})(?:\.(-?\d{1,3}))?/y;
    mod.lastIndex = i + 1;
    const mm = mod.exec(pattern)!;
    i = mod.lastIndex;
    const nm = /[A-Za-z]+/y;
    nm.lastIndex = i;
    const name = nm.exec(pattern)?.[0];
    if (name === undefined) throw new PatternError(pattern, `a % at column ${at + 1} is followed by no conversion name (write %% for a percent sign)`);
    i = nm.lastIndex;
    const options: string[] = [];
    while (pattern[i] === '{') {
      const end = pattern.indexOf('}', i);
      const inner = end < 0 ? '' : pattern.slice(i + 1, end);
      if (end < 0 || inner.includes('{') || inner.includes('%')) throw new PatternError(pattern, `%${name} at column ${at + 1}: nested patterns in options are not supported`);
      options.push(inner);
      i = end + 1;
    }
    const kind = CONVERSIONS[name];
    if (kind === undefined || pattern[i] === '(') {
      throw new PatternError(pattern, `the conversion %${name}${pattern[i] === '(' ? '(…)' : ''} at column ${at + 1} is not supported (supported: %d, %p/%level, %c/%logger, %C, %M, %F, %L, %l, %t/%thread, %T, %X{key}, %x, %r, %sn, %N, %pid, %marker, %cn, %m, %n, %ex/%throwable, %%)`);
    }
    if (seenMessage) continue; // after %m nothing is read: the message runs to the line's end
    const width = mm[2] ? Number(mm[2]) : 0;
    const step = newStep(undefined, kind);
    if (width > 0) {
      if (mm[1] === '-') step.padRight = true;
      else step.padLeft = true;
    }
    if (kind === 'end' || kind === 'after') throw new PatternError(pattern, `%${name} at column ${at + 1} comes before %m: a header over several lines is not supported`);
    if (kind === 'level' && options.length) throw new PatternError(pattern, `%${name}{${options[0]}} at column ${at + 1}: renamed or shortened levels are not supported`);
    if (kind === 'date') {
      step.date = compileDate(pattern, options[0] ?? 'DEFAULT');
      if (options[1] !== undefined) {
        const z = options[1];
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: z });
        } catch {
          throw new PatternError(pattern, `%${name} at column ${at + 1}: unknown time zone ${JSON.stringify(z)}`);
        }
        if (/^(?:UTC|GMT|Z|Etc\/UTC|GMT[+-]0{1,2}(?::?00)?)$/.test(z)) step.date.utc = true;
        else zone = z;
      }
    }
    if (kind === 'mdc' && options[0] !== undefined && options[0] !== '') step.key = options[0].split(':-')[0];
    flush();
    if (kind === 'message') {
      seenMessage = true;
      steps.push(step);
      continue;
    }
    steps.push(step);
  }
  if (!seenMessage) throw new PatternError(pattern, 'it has no %m (%msg, %message): where the message begins must be known');
  if (!steps.some((s) => s.kind && s.kind !== 'message')) throw new PatternError(pattern, 'it has no conversion before %m: every line would start an event');
  if (steps[0]?.kind === 'message') throw new PatternError(pattern, 'it begins with %m: every line would start an event');
  return zone === undefined ? { steps } : { steps, zone };
}

/** Compiles a conversion pattern; throws PatternError naming what is not supported. */
export function compileLayout(pattern: string): CompiledLayout {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PatternError(pattern, `longer than ${MAX_PATTERN_LENGTH} characters`);
  const { steps, zone } = tokenize(pattern);
  const hasLogger = steps.some((s) => s.kind === 'logger');

  /** Reads a header; with `out` undefined only whether it is one (the cutter's question: nothing is built). */
  function read(line: string, out: PatternFields | undefined): boolean {
    let pos = 0;
    let relaxed = false;
    for (let k = 0; k < steps.length; k++) {
      const s = steps[k]!;
      if (s.lit !== undefined) {
        const lit = s.lit;
        for (let j = 0; j < lit.length; j++) {
          const c = lit.charCodeAt(j);
          if (isBlank(c)) {
            // As many blanks as the pattern has (an empty field leaves its blanks side by side);
            // after a padded field, its padding is already taken and any run is accepted.
            let want = 1;
            while (j + 1 < lit.length && isBlank(lit.charCodeAt(j + 1))) { want++; j++; }
            const from = pos;
            while (pos < line.length && isBlank(line.charCodeAt(pos)) && (pos - from < want || (relaxed && j + 1 === want))) {
              if (pos - from >= MAX_FIELD) return false;
              pos++;
            }
            if (pos - from < want && !(relaxed && j + 1 === want)) return false;
          } else if (line.charCodeAt(pos) === c) pos++;
          else return false;
        }
        relaxed = false;
        continue;
      }
      if (s.kind === 'message') {
        if (out) out.messageAt = pos;
        return true;
      }
      if (s.padLeft) while (pos < line.length && isBlank(line.charCodeAt(pos)) && pos < MAX_FIELD * 4) pos++;
      const start = pos;
      switch (s.kind) {
        case 'date': {
          const d = s.date!;
          d.re.lastIndex = pos;
          const m = d.re.exec(line);
          if (!m) return false;
          if (out || d.named) {
            const date = readDate(d, m);
            if (!date) return false;
            if (d.utc && date.offsetMs === undefined) date.offsetMs = 0;
            if (out) out.date = date;
          }
          pos = d.re.lastIndex;
          break;
        }
        case 'level': {
          LETTERS.lastIndex = pos;
          const m = LETTERS.exec(line);
          if (!m || !LEVEL_WORD.test(m[0])) return false;
          if (out) out.level = m[0];
          pos = LETTERS.lastIndex;
          break;
        }
        case 'digits': {
          DIGITS.lastIndex = pos;
          if (!DIGITS.exec(line)) return false;
          pos = DIGITS.lastIndex;
          break;
        }
        default: {
          const end = freeEnd(line, pos, steps[k + 1], s.kind === 'logger' || s.kind === 'class' || s.kind === 'method' || s.kind === 'token');
          if (end < 0) return false;
          const from = pos;
          pos = end;
          if ((s.kind === 'logger' || (s.kind === 'class' && !hasLogger)) && end === from) return false;
          if (!out || end === from) break;
          const v = line.slice(from, end);
          if (s.kind === 'logger' || (s.kind === 'class' && !hasLogger)) {
            out.logger = v;
          } else if (s.kind === 'method') {
            // Without %c the logger is what the layout shows of the caller: `Class.method` (Flume's default).
            if (out.logger !== undefined && !hasLogger) out.logger += `.${v}`;
          } else if (s.kind === 'thread') {
            out.thread = v;
          } else if (s.kind === 'mdc' && s.key !== undefined) {
            (out.mdc ??= {})[s.key] = v;
          }
        }
      }
      if (pos - start > MAX_FIELD) return false;
      relaxed = s.padRight;
      if (relaxed) while (pos < line.length && isBlank(line.charCodeAt(pos)) && pos - start < MAX_FIELD * 4) pos++;
    }
    return false;
  }

  const layout: CompiledLayout = {
    pattern,
    startsEvent: (line) => read(line, undefined),
    parse(line) {
      const out: PatternFields = { messageAt: 0 };
      return read(line, out) ? out : undefined;
    },
  };
  return zone === undefined ? layout : { ...layout, zone };
}

/**
 * Where a free-text value starting at `pos` ends: at the first blank when the
 * next literal begins with one (or a conversion follows directly), else at the
 * literal's first non-blank run; a name without blanks (a logger, a class) at
 * that run's last place before the next blank, since it may hold the run's
 * characters itself (`%C.%M`: `org.x.Y.run`). -1 when the end is not within reach.
 */
function freeEnd(line: string, pos: number, next: Step | undefined, name: boolean): number {
  const limit = Math.min(line.length, pos + MAX_FIELD);
  const lit = next?.lit;
  const toBlank = lit === undefined || isBlank(lit.charCodeAt(0));
  let blank = pos;
  if (toBlank || name) while (blank < limit && !isBlank(line.charCodeAt(blank))) blank++;
  if (toBlank) return blank < limit || limit === line.length ? blank : -1;
  let n = 0;
  while (n < lit.length && !isBlank(lit.charCodeAt(n))) n++;
  const anchor = n === lit.length ? lit : lit.slice(0, n);
  // Searched within reach only: a hostile line costs one window, not the whole line per conversion.
  if (name) {
    for (let i = blank - n; i >= pos; i--) if (line.startsWith(anchor, i)) return i;
    return -1;
  }
  const first = anchor.charCodeAt(0);
  for (let i = pos; i <= limit; i++) if (line.charCodeAt(i) === first && (n === 1 || line.startsWith(anchor, i))) return i;
  return -1;
}
