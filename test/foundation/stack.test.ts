// The local stack script: idempotent `up`, and one-line errors that say what
// to do for a bad environment (no Java, no Maven, a port taken).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, symlinkSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const stack = join(import.meta.dirname, '../../deploy/local/stack');

/** A PATH holding every program of /usr/bin and /bin except the ones named. */
function pathWithout(...missing: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'sparklogs-path-'));
  for (const from of ['/usr/local/bin', '/usr/bin', '/bin']) {
    let entries: string[] = [];
    try {
      entries = readdirSync(from);
    } catch {
      continue;
    }
    for (const f of entries) {
      if (missing.includes(f)) continue;
      try {
        symlinkSync(join(from, f), join(dir, f));
      } catch {
        // first one on PATH wins, as in a shell
      }
    }
  }
  return dir;
}

function run(env: Record<string, string | undefined>, ...args: string[]) {
  const r = spawnSync('bash', [stack, ...args], { env: { ...process.env, SPARKLOGS_JAVA_HOME: '', ...env } as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

function assertOneLine(stderr: string, pattern: RegExp) {
  assert.equal(stderr.split('\n').length, 1, `expected one line, got:\n${stderr}`);
  assert.match(stderr, pattern);
}

test('no Java on PATH: one line that says to install a JDK', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sparklogs-stack-'));
  const path = pathWithout('java');
  t.after(() => rmSync(path, { recursive: true, force: true }));
  const r = run({ PATH: path, SPARKLOGS_STACK_DIR: dir }, 'up');
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, /^sparklogs stack: Java not found: install a JDK 17 or newer/);
  rmSync(dir, { recursive: true, force: true });
});

test('no Maven on a machine with nothing cached: one line that says to install it', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'sparklogs-home-'));
  const path = pathWithout('mvn');
  t.after(() => rmSync(path, { recursive: true, force: true }));
  const r = run({ PATH: path, SPARKLOGS_HOME: home, SPARKLOGS_STACK_DIR: join(home, 'stack') }, 'up');
  assert.equal(r.code, 1);
  assertOneLine(r.stderr.split('\n').filter((l) => !l.includes('installing')).join('\n'), /^sparklogs stack: Maven not found: install it/);
  rmSync(home, { recursive: true, force: true });
});

test('a port taken by another program: one line naming the port and the variable', async () => {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'sparklogs-stack-'));
  try {
    const r = run({ SPARKLOGS_STACK_DIR: dir, SPARKLOGS_KAFKA_PORT: String(port), SPARKLOGS_KAFKA_CONTROLLER_PORT: String(port + 1) }, 'up');
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, new RegExp(`^sparklogs stack: port ${port} \\(Kafka\\) is in use by another program: stop it, or set SPARKLOGS_KAFKA_PORT`));
  } finally {
    server.close();
    run({ SPARKLOGS_STACK_DIR: dir }, 'down');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('up on a running stack starts no second copy', { skip: !process.env.SPARKLOGS_STACK_DIR && 'the test stack is not managed by test/run.sh' }, () => {
  const dir = process.env.SPARKLOGS_STACK_DIR!;
  const pids = () => ['kafka', 'elasticsearch'].map((n) => readFileSync(join(dir, `${n}.pid`), 'utf8').trim());
  const before = pids();
  const r = run({}, 'up');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /already running/);
  assert.deepEqual(pids(), before);
  const status = run({}, 'status');
  assert.equal(status.code, 0);
  assert.match(status.stdout, /kafka: up/);
  assert.match(status.stdout, /elasticsearch: up/);
});
