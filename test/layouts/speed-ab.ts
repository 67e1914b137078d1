// Two trees' cutting and parsing together (speed-data.ts's cutAndParse), in
// one process, rounds alternating between them, timed in CPU seconds of this
// process (on a shared machine wall time is mostly waiting for a core). Not a
// test: run by hand to compare a change with the code before it:
//   git archive <commit> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/
//   node --import tsx test/layouts/speed-ab.ts /tmp/before . [rounds] [scale]
// Prints, per data set, MB per CPU second, best and median of the rounds.
import { resolve } from 'node:path';

type SpeedData = typeof import('./speed-data.js');
const [before, after] = [resolve(process.argv[2] ?? ''), resolve(process.argv[3] ?? '.')];
if (!process.argv[2]) throw new Error('usage: speed-ab.ts BEFORE_TREE [AFTER_TREE] [rounds] [scale]');
const rounds = Number(process.argv[4] ?? 6);
const scale = Number(process.argv[5] ?? 0.5);
const A = (await import(`${before}/test/layouts/speed-data.ts`)) as SpeedData;
const B = (await import(`${after}/test/layouts/speed-data.ts`)) as SpeedData;

function cpuMs(f: () => unknown): number {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

for (const [name, text, pattern] of B.speedSets(scale)) {
  const t = { before: [] as number[], after: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? (['after', 'before'] as const) : (['before', 'after'] as const);
    for (const k of order) t[k].push(cpuMs(() => (k === 'before' ? A : B).cutAndParse(text, pattern)));
  }
  const rate = (ms: number) => (text.length / 1e6 / (ms / 1000)).toFixed(1);
  const f = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `best ${rate(s[0]!)}, median ${rate(s[Math.floor(s.length / 2)]!)} MB per CPU s`;
  };
  console.log(`${name} (${(text.length / 1e6).toFixed(1)} MB): before ${f(t.before)}; after ${f(t.after)}`);
}
