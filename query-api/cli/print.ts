import { formatText, type TextStyle } from '../lines.js';

// Terminal output: colors only on a terminal (and not with NO_COLOR), and a
// reader that goes away (`| head`) ends the program quietly with status 0.

const useColor = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (useColor ? `\u001b[${code}m${s}\u001b[0m` : s);
const LEVEL_COLOR: Record<string, string> = { FATAL: '1;31', ERROR: '31', WARN: '33', DEBUG: '2', TRACE: '2' };
const EXEC_COLORS = ['36', '35', '32', '34', '96', '95', '92', '94'];

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

/** Writes and waits for the pipe to drain, so a slow reader bounds our memory. */
export async function out(s: string): Promise<void> {
  if (!process.stdout.write(s)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
}

export function colorFor(id: string): string {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return EXEC_COLORS[h % EXEC_COLORS.length] as string;
}

const STYLE: TextStyle = {
  time: (s) => paint('2', s),
  level: (level, s) => (LEVEL_COLOR[level ?? ''] ? paint(LEVEL_COLOR[level ?? ''] as string, s) : s),
  executor: (id, s) => paint(colorFor(id), s),
};

export function lineText(l: Parameters<typeof formatText>[0], withExecutor: boolean): string {
  return formatText(l, withExecutor, STYLE);
}

/** Highlights from the API (HTML-escaped, matches in <mark>) as terminal text. */
export function highlight(fragment: string): string {
  const unescaped = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&#39;/g, "'").replace(/&#x2F;/g, '/').replace(/&amp;/g, '&');
  // One hit, one terminal line: a fragment inside a stack trace spans several.
  return fragment
    .replace(/\s*\n\s*/g, ' ⏎ ')
    .split(/(<mark>.*?<\/mark>)/)
    .map((part) => (part.startsWith('<mark>') ? paint('1;33', unescaped(part.slice(6, -7))) : unescaped(part)))
    .join('');
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd() + '\n').join('');
}
