import { createHash } from 'node:crypto';
import type { SourceIdentity } from './identity.js';

/**
 * The stored id of a log event: derived only from where the event came from
 * (pod, file identity, byte offset of its first byte), so a line re-sent after
 * any crash or retry overwrites its earlier copy instead of duplicating it.
 * 128 bits of SHA-256, base64url: 22 characters.
 */
export function lineId(src: Pick<SourceIdentity, 'podUid' | 'pod' | 'namespace' | 'fileId'>, off: number): string {
  // Outside Kubernetes there may be no pod uid; namespace/pod names the source then.
  const pod = src.podUid ?? `${src.namespace ?? ''}/${src.pod ?? ''}`;
  return createHash('sha256').update(`${pod}\u0000${src.fileId}\u0000${off}`).digest('base64url').slice(0, 22);
}
