// Reference: kcat (librdkafka, a C client) producing every physical line of
// the data set as one message, acks from all replicas, the same compression
// as the collector: the raw produce ceiling of this machine and broker.
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { Ctx } from '../context.js';
import { createTopic } from '../context.js';
import { startMeasured } from '../proc.js';
import { failed, type ShipResult } from '../shipper.js';

const run = promisify(execFile);

/** Installs the Debian package when kcat is missing and the harness runs as root. */
export async function ensureKcat(ctx: Ctx): Promise<string | undefined> {
  if (await run('sh', ['-c', 'command -v kcat']).then(() => true, () => false)) return undefined;
  if (process.getuid?.() !== 0) return 'kcat is not installed (apt-get install kcat)';
  ctx.out('bench: installing kcat (apt-get install kcat)\n');
  const ok = await run('apt-get', ['install', '-y', '--no-install-recommends', 'kcat'], { timeout: 300_000 }).then(() => true, () => false);
  return ok ? undefined : 'apt-get install kcat failed';
}

export async function shipWithKcat(ctx: Ctx, prefix: string, compression: 'gzip' | 'none'): Promise<ShipResult> {
  const missing = await ensureKcat(ctx);
  if (missing) return failed('kcat', missing);
  const topic = await createTopic(ctx, prefix);
  try {
    const t0 = performance.now();
    const p = await startMeasured('kcat', [
      '-P', '-b', ctx.brokers.join(','), '-t', topic.name,
      '-X', 'acks=all', '-X', `compression.codec=${compression}`, '-X', 'linger.ms=5',
    ], process.env, 'pipe');
    // The files reach kcat's stdin one after another, as `cat files | kcat` would.
    const feed = (async () => {
      for (const f of ctx.data.files) await pipeline(createReadStream(f), p.child.stdin!, { end: false });
      p.child.stdin!.end();
    })();
    const [usage] = await Promise.all([p.exited(600_000), feed.catch(() => undefined)]);
    const seconds = (performance.now() - t0) / 1000;
    const messages = await topic.messages();
    if (usage.code !== 0 || messages !== ctx.data.lines) {
      return failed('kcat', `exit ${usage.code}, ${messages} of ${ctx.data.lines} lines in Kafka: ${p.stderr().slice(-300)}`);
    }
    return { name: 'kcat', seconds, cpuSeconds: usage.cpuSeconds, peakRssBytes: usage.peakRssBytes, messages };
  } finally {
    await topic.close();
  }
}
