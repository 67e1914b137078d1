// The "Spark container" of a chaos pod: writes numbered events into
// <logDir>/spark.log at a steady rate, rotating by rename like log4j2, until
// SIGTERM; keeps <countFile> up to date with how many events it has written
// (written atomically, so the verifier never reads a torn count).
// Usage: writer.js <logDir> <pod> <linesPerSecond> <rotateBytes> <countFile>
import { closeSync, existsSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { chaosEvent } from './lines.js';

const [logDir, pod, rateArg, rotateArg, countArg] = process.argv.slice(2);
if (!logDir || !pod || !rateArg || !rotateArg || !countArg) {
  process.stderr.write('usage: writer.js <logDir> <pod> <linesPerSecond> <rotateBytes> <countFile>\n');
  process.exit(2);
}
const countFile: string = countArg;
const rate = Number(rateArg);
const rotateBytes = Number(rotateArg);
const path = join(logDir, 'spark.log');
let fd = openSync(path, 'a');
let size = 0;
let seq = 0;
let stopping = false;

function saveCount() {
  writeFileSync(`${countFile}.tmp`, String(seq));
  renameSync(`${countFile}.tmp`, countFile);
}

function rotate() {
  closeSync(fd);
  for (let i = 8; i >= 1; i--) if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  renameSync(path, `${path}.1`);
  fd = openSync(path, 'a');
  size = 0;
}

process.on('SIGTERM', () => {
  stopping = true;
});

const start = Date.now();
const tickMs = 50;
let lastSave = 0;
while (!stopping) {
  // Catch up to where the rate says we should be: a slow tick writes more next time.
  const due = Math.floor(((Date.now() - start) / 1000) * rate);
  while (seq < due && !stopping) {
    const text = chaosEvent(pod, seq, Date.now());
    writeSync(fd, text);
    seq++;
    size += text.length;
    if (size >= rotateBytes) rotate();
  }
  if (Date.now() - lastSave > 500) {
    saveCount();
    lastSave = Date.now();
  }
  await new Promise((r) => setTimeout(r, tickMs));
}
closeSync(fd);
saveCount();
process.exit(0);
