// The chaos writers' lines: each one names its pod and sequence number and
// carries a checksum of both, so the verifier can tell a missing, doubled,
// reordered or corrupted line from the served text alone. Every 40th event is
// a stack trace, so multiline joining is exercised under every fault.
import { createHash } from 'node:crypto';
import { sparkTime } from '../../deploy/local/demo/workload.js';

const PAD = 'x'.repeat(160);

function sum(pod: string, seq: number): string {
  return createHash('sha1').update(`${pod}:${seq}`).digest('hex').slice(0, 12);
}

/** The message part (after `LEVEL Logger: `) of event `seq` of `pod`. */
export function chaosMessage(pod: string, seq: number): string {
  const head = `pod=${pod} seq=${seq} sum=${sum(pod, seq)} ${PAD.slice(0, 40 + (seq % 120))}`;
  if (seq % 40 !== 39) return head;
  return `${head}\njava.lang.IllegalStateException: chaos ${seq}\n\tat org.example.Chaos.step(Chaos.scala:${seq % 997})\n\tat org.apache.spark.executor.Executor$TaskRunner.run(Executor.scala:620)`;
}

export function chaosEvent(pod: string, seq: number, now: number): string {
  const level = seq % 40 === 39 ? 'ERROR' : 'INFO';
  return `${sparkTime(now)} ${level} ChaosWriter: ${chaosMessage(pod, seq)}\n`;
}

/** seq of a served message, or undefined when it is not one of ours (corrupted). */
export function parseSeq(pod: string, message: string): number | undefined {
  const m = /^pod=(\S+) seq=(\d+) /.exec(message);
  if (!m || m[1] !== pod) return undefined;
  const seq = Number(m[2]);
  return chaosMessage(pod, seq) === message ? seq : undefined;
}
