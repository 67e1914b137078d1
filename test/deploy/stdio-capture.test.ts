// The images' copy of a JVM's stdout and stderr (deploy/images/stdio-capture.sh,
// sourced by the Spark and Flink entrypoints): every byte reaches both the
// console and the file, up to the cap; the exit status is the child's; a
// process left holding the streams does not keep the container alive; and
// in the Spark entrypoint, log4j's console (SPARKLOGS_CONSOLE) reaches the
// console without being copied into the captured stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToEnd } from '../helpers/process.js';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = process.cwd();
const LIB = join(REPO, 'deploy/images/stdio-capture.sh');

type Ran = { code: number | null; stdout: string; stderr: string };

async function run(cmd: string[], env: Record<string, string>): Promise<Ran> {
  const r = await runToEnd(cmd[0]!, cmd.slice(1), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  return { code: r.code, stdout: r.out, stderr: r.err };
}

/** Runs CHILD (a bash script) as an entrypoint runs the JVM: streams into the copiers, then stdio_finish. */
function captured(dir: string, child: string, env: Record<string, string> = {}): Promise<Ran> {
  const driver = `set -euo pipefail
. "$LIB"
stdio_start "$DIR/stdout" "$DIR/stderr" || exit 90
bash -c "$CHILD" >"$STDIO_OUT" 2>"$STDIO_ERR" &
rc=0; wait $! || rc=$?
stdio_finish
exit $rc`;
  return run(['bash', '-c', driver], { LIB, DIR: dir, CHILD: child, ...env });
}

const scratch = () => mkdtempSync(join(tmpdir(), 'sparklogs-stdio-'));

test('stdout and stderr reach both the console and their files, byte for byte, and the exit status is the child\'s', async (t) => {
  const dir = scratch();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Interleaved, long and short lines, UTF-8, and a last line without a newline.
  const child = 'for i in $(seq 1 20000); do printf "out %d ✓ %*sx\\n" $i $((i % 300)) ""; if [ $((i % 4)) -eq 0 ]; then echo "err $i" >&2; fi; done; printf "no newline"; exit 3';
  const r = await captured(dir, child);
  assert.equal(r.code, 3);
  const expectOut: string[] = [];
  const expectErr: string[] = [];
  for (let i = 1; i <= 20000; i++) {
    expectOut.push(`out ${i} ✓ ${' '.repeat(i % 300)}x`);
    if (i % 4 === 0) expectErr.push(`err ${i}`);
  }
  const out = `${expectOut.join('\n')}\nno newline`;
  const err = `${expectErr.join('\n')}\n`;
  assert.ok(readFileSync(join(dir, 'stdout'), 'utf8') === out, 'the stdout file');
  assert.ok(r.stdout === out, 'the console\'s stdout');
  assert.ok(readFileSync(join(dir, 'stderr'), 'utf8') === err, 'the stderr file');
  assert.ok(r.stderr === err, `the console's stderr: ${JSON.stringify(r.stderr.slice(0, 300))} ... ${JSON.stringify(r.stderr.slice(-300))} (${r.stderr.length} vs ${err.length})`);
});

test('a file stops at SPARKLOGS_STDIO_MAX_BYTES with a line saying so; the console gets everything; a full file from an earlier run takes nothing more', async (t) => {
  const dir = scratch();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = 'seq 1 100000';
  const all = Array.from({ length: 100000 }, (_, i) => `${i + 1}\n`).join('');
  const r = await captured(dir, child, { SPARKLOGS_STDIO_MAX_BYTES: '5000' });
  assert.equal(r.code, 0);
  assert.ok(r.stdout === all, 'the console has every line');
  const file = readFileSync(join(dir, 'stdout'), 'utf8');
  assert.equal(file.slice(0, 5000), all.slice(0, 5000));
  assert.equal(file.slice(5000), '\n[sparklogs: stdout reached 5000 bytes (SPARKLOGS_STDIO_MAX_BYTES): the rest is on the container console only]\n');
  // The container again (a restart in the same pod): the file is full, the child runs as before.
  const again = await captured(dir, 'echo more; echo more >&2', { SPARKLOGS_STDIO_MAX_BYTES: '5000' });
  assert.equal(again.code, 0);
  assert.equal(again.stdout, 'more\n');
  assert.equal(readFileSync(join(dir, 'stdout'), 'utf8'), file, 'nothing appended to a full file');
  assert.equal(readFileSync(join(dir, 'stderr'), 'utf8'), 'more\n', 'stderr has its own cap');
  const bad = await captured(dir, 'true', { SPARKLOGS_STDIO_MAX_BYTES: '64M' });
  assert.equal(bad.code, 90);
  assert.match(bad.stderr, /SPARKLOGS_STDIO_MAX_BYTES must be a number of bytes, got '64M'/);
});

test('a process that keeps the streams open after the child ended does not hold the container: the copy stops after SPARKLOGS_STDIO_DRAIN_S', async (t) => {
  const dir = scratch();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A grandchild (as a Python worker would be) keeps stdout open for 10 minutes.
  const holder = join(dir, 'holder.pid');
  const r = await captured(dir, `echo before; (sleep 600 & echo $! >${holder}); echo after`, { SPARKLOGS_STDIO_DRAIN_S: '1' });
  process.kill(Number(readFileSync(holder, 'utf8')));
  assert.equal(r.code, 0);
  assert.equal(readFileSync(join(dir, 'stdout'), 'utf8'), 'before\nafter\n');
  assert.match(r.stderr, /a process still holds stdout or stderr 1 s after the JVM ended; stopping the copy/);
});

test('a directory that cannot be written: the streams stay on the console, said once', async (t) => {
  const dir = scratch();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'not-a-dir'), '');
  const r = await run(['bash', '-c', '. "$LIB"; stdio_start "$DIR/not-a-dir/x/stdout" "$DIR/not-a-dir/x/stderr"; echo "rc=$?"'], { LIB, DIR: dir });
  assert.match(r.stdout, /rc=1/);
  assert.match(r.stderr, /not-a-dir\/x is not writable: stdout and stderr stay on the console only/);
});

test('the Spark entrypoint with SPARKLOGS_STDIO_DIR: stdout and stderr copied, log4j\'s console (SPARKLOGS_CONSOLE) on the console only', async (t) => {
  const dir = scratch();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The entrypoint reads Spark's Scala version from the name of the spark-core jar.
  const home = join(dir, 'spark');
  mkdirSync(join(home, 'jars'), { recursive: true });
  writeFileSync(join(home, 'jars', 'spark-core_2.13-4.2.0.jar'), '');
  const javaHome = process.env.JAVA_HOME ?? (existsSync('/usr/lib/jvm') ? join('/usr/lib/jvm', readdirSync('/usr/lib/jvm').find((d) => existsSync(join('/usr/lib/jvm', d, 'bin/java'))) ?? '') : '');
  const logs = join(dir, 'logs');
  // Any other first argument is run as given: a stand-in for the JVM writing all three.
  const r = await run(['bash', join(REPO, 'deploy/images/spark-entrypoint.sh'), 'bash', '-c', 'echo "println line"; echo "stderr line" >&2; echo "24/11/21 06:20:00 INFO Executor: a log line" >"$SPARKLOGS_CONSOLE"; exit 7'], {
    SPARK_HOME: home,
    JAVA_HOME: javaHome,
    SPARKLOGS_STDIO_DIR: logs,
  });
  assert.equal(r.code, 7, r.stderr);
  assert.equal(readFileSync(join(logs, 'stdout'), 'utf8'), 'println line\n');
  assert.equal(readFileSync(join(logs, 'stderr'), 'utf8'), 'stderr line\n', 'no log line in the captured stderr');
  assert.equal(r.stdout, 'println line\n');
  assert.match(r.stderr, /^stderr line$/m);
  assert.match(r.stderr, /^24\/11\/21 06:20:00 INFO Executor: a log line$/m, 'the log line on the console');
  // Without the variable: nothing is copied, the log line reaches stderr by the properties' default
  // path (a pipe here, as a container runtime's FIFO: a socket, as this process's own, cannot be opened by path).
  const plain = await run(['bash', '-c', 'bash "$EP" bash -c \'echo "a log line" >"${SPARKLOGS_CONSOLE:-/dev/stderr}"\' 2>&1 | cat'], { EP: join(REPO, 'deploy/images/spark-entrypoint.sh'), SPARK_HOME: home, JAVA_HOME: javaHome });
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^a log line$/m);
  assert.ok(!existsSync(join(home, 'stdout')) && readdirSync(logs).sort().join() === 'stderr,stdout', 'nothing copied without SPARKLOGS_STDIO_DIR');
});
