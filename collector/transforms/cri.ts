// The kubelet's CRI log line: `<RFC3339Nano> <stdout|stderr> <P|F> <text>`.
// P marks a partial line (the runtime split a long line); the text continues
// in the next line of the same stream, up to one marked F.

export interface CriLine {
  t: number;
  s: 'stdout' | 'stderr';
  partial: boolean;
  text: string;
}

export function parseCri(line: string): CriLine | undefined {
  const a = line.indexOf(' ');
  if (a < 20 || a > 40) return undefined;
  const b = line.indexOf(' ', a + 1);
  if (b === -1) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.charCodeAt(b + 1);
  if ((tag !== 80 && tag !== 70) || (b + 2 < line.length && line.charCodeAt(b + 2) !== 32)) return undefined;
  const t = Date.parse(line.slice(0, a));
  if (Number.isNaN(t)) return undefined;
  return { t, s: stream, partial: tag === 80, text: line.slice(b + 3) };
}
