// Reference: rsyslog as a peer shipper. rsyslogd runs in the foreground as a
// child of the harness with its own config, work directory and pid file (the
// system's rsyslog is never touched): imfile reads the same files, joins stack
// traces with the same start-of-event rule as the collector, and omkafka
// produces one message per event with acks from all replicas.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Ctx } from '../context.js';
import { createTopic } from '../context.js';
import { startMeasured, waitFor } from '../proc.js';
import { failed, type ShipResult } from '../shipper.js';

const run = promisify(execFile);
const STALL_MS = 30_000;
const OMKAFKA = ['/usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so', '/usr/lib/aarch64-linux-gnu/rsyslog/omkafka.so', '/usr/lib/rsyslog/omkafka.so'];

async function ensureRsyslog(ctx: Ctx): Promise<string | undefined> {
  const present = async () => (await run('sh', ['-c', 'command -v rsyslogd || test -x /usr/sbin/rsyslogd']).then(() => true, () => false))
    && (await run('sh', ['-c', OMKAFKA.map((p) => `test -f ${p}`).join(' || ')]).then(() => true, () => false));
  if (await present()) return undefined;
  if (process.getuid?.() !== 0) return 'rsyslog and rsyslog-kafka are not installed (apt-get install rsyslog rsyslog-kafka)';
  ctx.out('bench: installing rsyslog and rsyslog-kafka (apt-get)\n');
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'rsyslog', 'rsyslog-kafka'], { timeout: 300_000 }).catch(() => undefined);
  return (await present()) ? undefined : 'apt-get install rsyslog rsyslog-kafka failed';
}

export function rsyslogConfig(o: { workDir: string; files: string; brokers: string[]; topic: string; compression: string }): string {
  return `
global(workDirectory="${o.workDir}" parser.escapeControlCharactersOnReceive="off" maxMessageSize="1m")
module(load="imfile" mode="inotify")
module(load="omkafka")
template(name="raw" type="string" string="%msg%")
ruleset(name="ship" queue.type="LinkedList" queue.size="200000" queue.dequeueBatchSize="2048") {
  action(type="omkafka" broker=[${o.brokers.map((b) => `"${b}"`).join(',')}] topic="${o.topic}" template="raw" partitions.auto="on" resubmitOnFailure="on"
         confParam=["request.required.acks=-1", "compression.codec=${o.compression}", "queue.buffering.max.ms=5"])
}
input(type="imfile" file="${o.files}" tag="spark" ruleset="ship" startmsg.regex="^[0-9]{2}/[0-9]{2}/[0-9]{2} " readTimeout="1" reopenOnTruncate="on")
`;
}

export async function shipWithRsyslog(ctx: Ctx, prefix: string, compression: 'gzip' | 'none'): Promise<ShipResult> {
  const missing = await ensureRsyslog(ctx);
  if (missing) return failed('rsyslog', missing);
  const dir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-rsyslog-'));
  const topic = await createTopic(ctx, prefix);
  try {
    const conf = join(dir, 'rsyslog.conf');
    await writeFile(conf, rsyslogConfig({ workDir: dir, files: join(ctx.data.dir, 'executor-*.log'), brokers: ctx.brokers, topic: topic.name, compression }));
    const t0 = performance.now();
    const p = await startMeasured('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')]);
    const want = ctx.data.events;
    let seen = 0;
    let progressAt = performance.now();
    // rsyslog may lose events (it said so on stderr in one full run): stop when it stalls, report what arrived.
    await waitFor(async () => {
      const n = await topic.messages();
      if (n > seen) progressAt = performance.now();
      seen = n;
      return seen >= want || p.child.exitCode !== null || performance.now() - progressAt > STALL_MS;
    }, 600_000, 200);
    const seconds = (progressAt - t0) / 1000;
    p.signal('SIGTERM');
    const usage = await p.exited(30_000);
    const said = p.stderr().trim().split('\n')[0]?.slice(0, 300) ?? '';
    if (seen < want * 0.99) return failed('rsyslog', `${seen} of ${want} events in Kafka (exit ${usage.code}): ${said}`);
    return {
      name: 'rsyslog', seconds, cpuSeconds: usage.cpuSeconds, peakRssBytes: usage.peakRssBytes, messages: seen,
      ...(seen < want ? { lost: `rsyslog delivered ${seen} of ${want} events (rate over those); stderr: ${said}` } : {}),
    };
  } finally {
    await topic.close();
    await rm(dir, { recursive: true, force: true });
  }
}
